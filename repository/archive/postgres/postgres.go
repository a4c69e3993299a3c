// Package postgres is the archive (usecase.Archive) in PostgreSQL, shared
// by every replica: github.com/jackc/pgx/v5 with one pgxpool per Archive.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/paper"
	"github.com/papercast/papercast/repository/archive"
)

//go:embed migrations/*.sql
var embedded embed.FS

// Migrations are the schema's versions, for goose.
func Migrations() fs.FS {
	sub, _ := fs.Sub(embedded, "migrations") // a literal directory that embed guarantees
	return sub
}

// MigrationLockID is the advisory lock migrators hold: papercast's own
// (not goose's default), so an archive sharing a server with another goose
// user neither waits for it nor makes it wait.
var MigrationLockID = int64(crc32.ChecksumIEEE([]byte("papercast archive migrations")))

// Archive is a usecase.Archive in PostgreSQL. Safe for concurrent use.
type Archive struct {
	pool *pgxpool.Pool
	log  *slog.Logger
}

// Open connects to the database dsn names and migrates it to the current
// schema. Replicas starting at once migrate one after another: each holds
// a session advisory lock (MigrationLockID) while goose checks and applies
// versions, so none fails creating a table another just created.
//
// The DSN may hold a password: no error or log line carries it.
func Open(ctx context.Context, dsn string, log *slog.Logger) (*Archive, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx redacts passwords from its parse errors only "best effort",
		// and a wrapped url.Error quotes the URL: say nothing of the DSN.
		return nil, errors.New("archive: postgres: the DSN does not parse (not shown: it may hold a password)")
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "papercast-archive"
	}
	where := fmt.Sprintf("%s:%d/%s", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("archive: postgres %s: %w", where, err)
	}
	a := &Archive{pool: pool, log: log}
	if err := a.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("archive: postgres %s: %w", where, err)
	}
	if err := a.migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("archive: postgres %s: %w", where, err)
	}
	log.Info("archive opened", "driver", "postgres", "server", where)
	return a, nil
}

func (a *Archive) migrate(ctx context.Context) error {
	locker, err := lock.NewPostgresSessionLocker(
		lock.WithLockID(MigrationLockID),
		// Poll every second for up to 5 minutes: a replica waits for
		// another's migration rather than starting on an old schema.
		lock.WithLockTimeout(1, 300),
	)
	if err != nil {
		return err
	}
	db := stdlib.OpenDBFromPool(a.pool) // closing it leaves the pool open
	defer db.Close()
	return archive.Migrate(ctx, goose.DialectPostgres, db, Migrations(), a.log, goose.WithSessionLocker(locker))
}

// Put inserts the document unless a row holds its id already: the
// document, put before (a retry, or another replica), or a tombstone. A
// tombstone is a row of the same table, so ON CONFLICT (id) DO NOTHING is
// both "first Put wins" and "a deleted paper stays deleted" in one
// statement, atomic however many replicas race, with no separate
// NOT EXISTS check that a concurrent Delete could slip past.
func (a *Archive) Put(ctx context.Context, doc domain.Document) error {
	r, err := archive.ToRow(doc)
	if err != nil {
		return err
	}
	_, err = a.pool.Exec(ctx, `INSERT INTO archived_papers
		(id, title, recipient, status, seq, epoch, created_at, finalized_at, edit, owner_key_hash, elements, etag, archived_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, now())
		ON CONFLICT (id) DO NOTHING`,
		r.ID, r.Title, r.To, r.Status, r.Seq, r.Epoch, r.CreatedAt, r.FinalizedAt, r.Edit, r.OwnerKeyHash, r.Elements, r.ETag)
	if err != nil {
		return mapErr("put", r.ID, err)
	}
	return nil
}

// Get reads an archived document.
func (a *Archive) Get(ctx context.Context, id string) (domain.Document, error) {
	if !paper.ValidID(id) {
		return domain.Document{}, fmt.Errorf("archive: get %q: %w", id, domain.ErrNotFound)
	}
	r := archive.Row{ID: id}
	err := a.pool.QueryRow(ctx, `SELECT title, recipient, status, seq, epoch, created_at, finalized_at,
		edit, owner_key_hash, elements, etag FROM archived_papers WHERE id = $1 AND NOT deleted`, id).
		Scan(&r.Title, &r.To, &r.Status, &r.Seq, &r.Epoch, &r.CreatedAt, &r.FinalizedAt, &r.Edit, &r.OwnerKeyHash, &r.Elements, &r.ETag)
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.Document{}, fmt.Errorf("archive: get %s: %w", id, domain.ErrNotFound)
	}
	if err != nil {
		return domain.Document{}, mapErr("get", id, err)
	}
	return r.Document()
}

// Delete turns the paper's row into a tombstone, or writes one: the
// document's columns are cleared (its content is gone, not hidden).
func (a *Archive) Delete(ctx context.Context, id string) error {
	if !paper.ValidID(id) {
		return fmt.Errorf("archive: delete %q: %w", id, domain.ErrInvalid)
	}
	_, err := a.pool.Exec(ctx, `INSERT INTO archived_papers (id, deleted, deleted_at) VALUES ($1, true, now())
		ON CONFLICT (id) DO UPDATE SET deleted = true,
			deleted_at = COALESCE(archived_papers.deleted_at, excluded.deleted_at),
			title = NULL, recipient = NULL, status = NULL, seq = NULL, epoch = NULL, created_at = NULL,
			finalized_at = NULL, edit = NULL, owner_key_hash = NULL, elements = NULL, etag = NULL`, id)
	if err != nil {
		return mapErr("delete", id, err)
	}
	return nil
}

// Ping checks the server answers on one of the pool's connections.
func (a *Archive) Ping(ctx context.Context) error {
	if err := a.pool.Ping(ctx); err != nil {
		return mapErr("ping", "", err)
	}
	return nil
}

// Close closes the pool, waiting for connections in use to come back.
func (a *Archive) Close() error {
	a.pool.Close()
	return nil
}

// mapErr wraps a failure as domain.ErrUnavailable (the server is down,
// slow or refusing), except a constraint or data error, which is a bug of
// ours: ToRow lets through only what every column takes.
func mapErr(what, id string, err error) error {
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok && (pgErr.Code[:2] == "22" || pgErr.Code[:2] == "23") {
		return fmt.Errorf("archive: %s %s: %w", what, id, err)
	}
	return fmt.Errorf("archive: %s %s: %w: %w", what, id, domain.ErrUnavailable, err)
}
