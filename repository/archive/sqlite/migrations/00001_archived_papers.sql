-- One row per paper id: an archived final document, or a tombstone
-- (deleted = 1, every document column NULL) that keeps a late Put from
-- bringing a deleted paper back. Times are RFC 3339 UTC text.
-- +goose Up
CREATE TABLE archived_papers (
	id             TEXT PRIMARY KEY,
	deleted        INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
	title          TEXT,
	recipient      TEXT,    -- domain.Paper.To
	status         TEXT,
	seq            INTEGER,
	epoch          TEXT,
	created_at     TEXT,
	finalized_at   TEXT,
	edit           TEXT,    -- edit policy
	owner_key_hash BLOB,    -- SHA-256 of the owner key, never the key
	elements       TEXT,    -- protocol.AppendElements' JSON, byte for byte
	etag           TEXT,
	archived_at    TEXT,
	deleted_at     TEXT,
	CHECK (deleted = 1 OR (title IS NOT NULL AND recipient IS NOT NULL AND status IS NOT NULL
		AND seq IS NOT NULL AND epoch IS NOT NULL AND created_at IS NOT NULL
		AND edit IS NOT NULL AND elements IS NOT NULL AND etag IS NOT NULL))
) STRICT;

-- +goose Down
DROP TABLE archived_papers;
