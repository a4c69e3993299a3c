// Package sqlite is the archive (usecase.Archive) in one SQLite file: for a
// single-machine try-out, where running PostgreSQL would be a chore.
//
// The driver is modernc.org/sqlite, SQLite translated to Go: no cgo, so the
// binary still cross-compiles and builds with CGO_ENABLED=0 like the rest of
// papercast, at some cost in speed that an archive written once per
// finalized paper never notices.
//
// SQLite takes one writer at a time; a second writer waits on the file lock
// (busy_timeout) and may still fail with SQLITE_BUSY when a read
// transaction must be upgraded. So every write goes through one handle with
// a single connection, and reads go through another handle whose
// connections are query_only: in WAL mode they read beside the writer.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // database/sql driver "sqlite"

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

// BusyTimeout is how long a statement waits for another process's lock on
// the file (a backup tool, sqlite3 in a shell) before failing.
const BusyTimeout = 5 * time.Second

// readers bounds the read handle's connections: reads are point lookups by
// id, so a few serve any try-out.
const readers = 4

// Archive is a usecase.Archive in an SQLite file. Safe for concurrent use.
type Archive struct {
	write *sql.DB // one connection: SQLite's single writer
	read  *sql.DB
	path  string
	log   *slog.Logger
}

// Open opens (creating it and its directory if need be) the archive file
// at path and migrates it to the current schema. The file is in WAL mode
// with synchronous=FULL: a Put that returned is on disk even if the machine
// loses power, which is the archive's whole point once Redis has let the
// paper go.
func Open(ctx context.Context, path string, log *slog.Logger) (*Archive, error) {
	if path == "" {
		return nil, errors.New("archive: sqlite: empty path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("archive: sqlite: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o750); err != nil {
		return nil, fmt.Errorf("archive: sqlite: create the directory: %w", err)
	}
	// The whole first open (the switch to WAL, then the migrations) runs
	// under the migration lock: two processes opening a new file at once
	// otherwise race on the journal-mode switch, which SQLite may refuse
	// with SQLITE_BUSY without waiting out busy_timeout.
	lk := &fileLocker{path: abs + ".migrate-lock"}
	if err := lk.Lock(ctx, nil); err != nil {
		return nil, fmt.Errorf("archive: sqlite %s: %w", abs, err)
	}
	defer func() { _ = lk.Unlock(context.WithoutCancel(ctx), nil) }()
	// busy_timeout first: the switch to WAL itself may wait on another
	// process. _txlock=immediate: a transaction takes the write lock when
	// it begins, since a read transaction in WAL mode that later writes
	// fails with SQLITE_BUSY at once, without waiting, if another
	// connection wrote in between.
	w, err := sql.Open("sqlite", dsn(abs, busy(), "journal_mode(WAL)", "synchronous(FULL)")+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("archive: sqlite %s: %w", abs, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := archive.Migrate(ctx, goose.DialectSQLite3, w, Migrations(), log); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("archive: sqlite %s: %w", abs, err)
	}
	r, err := sql.Open("sqlite", dsn(abs, busy(), "query_only(1)"))
	if err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("archive: sqlite %s: %w", abs, err)
	}
	r.SetMaxOpenConns(readers)
	r.SetMaxIdleConns(readers)
	a := &Archive{write: w, read: r, path: abs, log: log}
	if err := a.Ping(ctx); err != nil {
		_ = a.Close()
		return nil, err
	}
	log.Info("archive opened", "driver", "sqlite", "path", abs)
	return a, nil
}

func busy() string { return fmt.Sprintf("busy_timeout(%d)", BusyTimeout.Milliseconds()) }

// dsn is a file: URI (SQLite percent-decodes it, so any path works) with
// modernc's _pragma parameters, which it runs on every new connection.
func dsn(path string, pragmas ...string) string {
	q := url.Values{}
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	u := url.URL{Scheme: "file", Path: path, RawQuery: q.Encode()}
	return u.String()
}

// Path is the archive file's absolute path.
func (a *Archive) Path() string { return a.path }

const timeFormat = time.RFC3339Nano

func formatTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC().Format(timeFormat)
}

// Put stores the document unless a row (the document, put earlier, or a
// tombstone) already holds its id: ON CONFLICT DO NOTHING makes the first
// Put win and keeps a deleted paper deleted, in one statement.
func (a *Archive) Put(ctx context.Context, doc domain.Document) error {
	r, err := archive.ToRow(doc)
	if err != nil {
		return err
	}
	_, err = a.write.ExecContext(ctx, `INSERT INTO archived_papers
		(id, title, recipient, status, seq, epoch, created_at, finalized_at, edit, owner_key_hash, elements, etag, archived_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`,
		r.ID, r.Title, r.To, r.Status, r.Seq, r.Epoch, formatTime(&r.CreatedAt), formatTime(r.FinalizedAt),
		r.Edit, r.OwnerKeyHash, r.Elements, r.ETag, formatTime(new(time.Now())))
	if err != nil {
		return unavailable("put", r.ID, err)
	}
	return nil
}

// Get reads an archived document.
func (a *Archive) Get(ctx context.Context, id string) (domain.Document, error) {
	if !paper.ValidID(id) {
		return domain.Document{}, fmt.Errorf("archive: get %q: %w", id, domain.ErrNotFound)
	}
	var (
		r                  archive.Row
		created, finalized sql.NullString
	)
	err := a.read.QueryRowContext(ctx, `SELECT title, recipient, status, seq, epoch, created_at, finalized_at,
		edit, owner_key_hash, elements, etag FROM archived_papers WHERE id = ? AND deleted = 0`, id).
		Scan(&r.Title, &r.To, &r.Status, &r.Seq, &r.Epoch, &created, &finalized, &r.Edit, &r.OwnerKeyHash, &r.Elements, &r.ETag)
	if errors.Is(err, sql.ErrNoRows) {
		return domain.Document{}, fmt.Errorf("archive: get %s: %w", id, domain.ErrNotFound)
	}
	if err != nil {
		return domain.Document{}, unavailable("get", id, err)
	}
	r.ID = id
	if r.CreatedAt, err = time.Parse(timeFormat, created.String); err != nil {
		return domain.Document{}, fmt.Errorf("archive: get %s: corrupt created_at: %w", id, err)
	}
	if finalized.Valid {
		at, err := time.Parse(timeFormat, finalized.String)
		if err != nil {
			return domain.Document{}, fmt.Errorf("archive: get %s: corrupt finalized_at: %w", id, err)
		}
		r.FinalizedAt = &at
	}
	return r.Document()
}

// Delete turns the paper's row into a tombstone, or writes one: the
// document's columns are cleared (its content is gone, not hidden).
func (a *Archive) Delete(ctx context.Context, id string) error {
	if !paper.ValidID(id) {
		return fmt.Errorf("archive: delete %q: %w", id, domain.ErrInvalid)
	}
	_, err := a.write.ExecContext(ctx, `INSERT INTO archived_papers (id, deleted, deleted_at) VALUES (?, 1, ?)
		ON CONFLICT (id) DO UPDATE SET deleted = 1, deleted_at = COALESCE(deleted_at, excluded.deleted_at),
			title = NULL, recipient = NULL, status = NULL, seq = NULL, epoch = NULL, created_at = NULL,
			finalized_at = NULL, edit = NULL, owner_key_hash = NULL, elements = NULL, etag = NULL`,
		id, formatTime(new(time.Now())))
	if err != nil {
		return unavailable("delete", id, err)
	}
	return nil
}

// Ping reads the schema through both handles, so it proves the file is
// there and readable and the writer connection alive.
func (a *Archive) Ping(ctx context.Context) error {
	for _, db := range []*sql.DB{a.read, a.write} {
		var n int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema`).Scan(&n); err != nil {
			return unavailable("ping", a.path, err)
		}
	}
	return nil
}

// Close closes both handles; a checkpoint on the writer's close folds the
// WAL back into the file.
func (a *Archive) Close() error {
	return errors.Join(a.read.Close(), a.write.Close())
}

func unavailable(what, id string, err error) error {
	return fmt.Errorf("archive: %s %s: %w: %w", what, id, domain.ErrUnavailable, err)
}
