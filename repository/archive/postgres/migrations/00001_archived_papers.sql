-- One row per paper id: an archived final document, or a tombstone
-- (deleted, every document column NULL) that keeps a late Put from bringing
-- a deleted paper back. elements is json, not jsonb: json keeps the text
-- exactly as written (jsonb reorders keys and rewrites numbers and escapes).
-- +goose Up
CREATE TABLE archived_papers (
	id             text PRIMARY KEY,
	deleted        boolean NOT NULL DEFAULT false,
	title          text,
	recipient      text,        -- domain.Paper.To
	status         text,
	seq            bigint,
	epoch          text,
	created_at     timestamptz,
	finalized_at   timestamptz,
	edit           text,        -- edit policy
	owner_key_hash bytea,       -- SHA-256 of the owner key, never the key
	elements       json,        -- protocol.AppendElements' JSON, byte for byte
	etag           text,
	archived_at    timestamptz,
	deleted_at     timestamptz,
	CHECK (deleted OR (title IS NOT NULL AND recipient IS NOT NULL AND status IS NOT NULL
		AND seq IS NOT NULL AND epoch IS NOT NULL AND created_at IS NOT NULL
		AND edit IS NOT NULL AND elements IS NOT NULL AND etag IS NOT NULL))
);

-- +goose Down
DROP TABLE archived_papers;
