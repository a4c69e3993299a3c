package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pressly/goose/v3/lock"
)

// fileLocker serializes first opens (the WAL switch and the migrations)
// across processes with SQLite's own file lock, on a small file beside the
// archive: the holder keeps a write
// transaction (BEGIN IMMEDIATE) open on it, which another process cannot
// begin until the holder ends it or dies (the OS drops a dead process's
// locks, so it never goes stale). Not on the archive file itself: the
// migration's own writes there would wait on the lock.
//
// goose has no SQLite locker; without one, two processes opening a new
// archive at once both find version 0 and the second fails creating a
// table that now exists, or one is refused the switch to WAL with
// SQLITE_BUSY (TestTwoOpensOfOneFile).
type fileLocker struct {
	path string

	mu   sync.Mutex
	db   *sql.DB
	conn *sql.Conn
}

var _ lock.Locker = (*fileLocker)(nil)

// lockRetry is how long the locker sleeps between attempts once
// busy_timeout ran out, so a context's end is noticed.
const lockRetry = 50 * time.Millisecond

func (l *fileLocker) Lock(ctx context.Context, _ *sql.DB) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	db, err := sql.Open("sqlite", dsn(l.path, "busy_timeout(1000)"))
	if err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		_ = db.Close()
		return fmt.Errorf("migration lock: %w", err)
	}
	for {
		_, err = conn.ExecContext(ctx, "BEGIN IMMEDIATE")
		if err == nil {
			l.db, l.conn = db, conn
			return nil
		}
		select {
		case <-ctx.Done():
			err = errors.Join(ctx.Err(), err)
		case <-time.After(lockRetry):
			continue
		}
		_ = conn.Close()
		_ = db.Close()
		return fmt.Errorf("migration lock %s: %w", l.path, err)
	}
}

func (l *fileLocker) Unlock(ctx context.Context, _ *sql.DB) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn == nil {
		return nil
	}
	_, err := l.conn.ExecContext(ctx, "ROLLBACK")
	err = errors.Join(err, l.conn.Close(), l.db.Close())
	l.db, l.conn = nil, nil
	return err
}
