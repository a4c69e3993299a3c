package archive

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/pressly/goose/v3"
)

// MigrationsTable is goose's version table in an archive database. Named
// for papercast, so an archive sharing a database with another goose user
// keeps its own history.
const MigrationsTable = "papercast_archive_migrations"

// NewMigrator builds the goose Provider that brings an archive schema up to
// date from the driver's embedded migrations (fsys holds the *.sql files at
// its root). extra options add the driver's lock (goose.WithSessionLocker,
// goose.WithLocker), so that replicas starting at once migrate one after
// another instead of racing to create the same table.
//
// The Provider rather than goose's package functions (SetBaseFS,
// SetDialect, Up): those keep the dialect and file system in package
// globals, so two archives in one process (the SQLite and the PostgreSQL
// tests, or two replicas in one test) would share and race on them; a
// Provider holds its own, takes a context, and runs under a session lock.
func NewMigrator(dialect goose.Dialect, db *sql.DB, fsys fs.FS, log *slog.Logger, extra ...goose.ProviderOption) (*goose.Provider, error) {
	opts := []goose.ProviderOption{
		goose.WithTableName(MigrationsTable),
		goose.WithSlog(log.With("component", "archive-migrations")),
		// Only the embedded SQL files: a Go migration registered anywhere in
		// the binary (goose's global registry) is not ours.
		goose.WithDisableGlobalRegistry(true),
	}
	p, err := goose.NewProvider(dialect, db, fsys, append(opts, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("archive migrations: %w", err)
	}
	return p, nil
}

// Migrate applies every pending migration.
func Migrate(ctx context.Context, dialect goose.Dialect, db *sql.DB, fsys fs.FS, log *slog.Logger, extra ...goose.ProviderOption) error {
	p, err := NewMigrator(dialect, db, fsys, log, extra...)
	if err != nil {
		return err
	}
	res, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("archive migrations: %w", err)
	}
	for _, r := range res {
		log.Info("archive migration applied", "version", r.Source.Version, "file", r.Source.Path, "took", r.Duration)
	}
	return nil
}
