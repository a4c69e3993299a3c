package postgres_test

import (
	"context"
	"database/sql"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/papercast/papercast/internal/logtest"
	"github.com/papercast/papercast/internal/pgtest"
	"github.com/papercast/papercast/repository/archive/archivetest"
	"github.com/papercast/papercast/repository/archive/postgres"
	"github.com/papercast/papercast/usecase"
)

var _ usecase.Archive = (*postgres.Archive)(nil)

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

func open(t testing.TB, dsn string) *postgres.Archive {
	t.Helper()
	a, err := postgres.Open(context.Background(), dsn, discard())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return a
}

func TestContract(t *testing.T) {
	archivetest.Run(t, func(t *testing.T) usecase.Archive { return open(t, pgtest.New(t)) })
}

// Replicas share one database: a paper one archived, another reads, and a
// tombstone one wrote stops another's late Put.
func TestReplicasShareDocumentsAndTombstones(t *testing.T) {
	dsn := pgtest.New(t)
	a, b := open(t, dsn), open(t, dsn)
	kept, deleted := archivetest.ID(), archivetest.ID()
	if err := a.Put(t.Context(), archivetest.Document(kept, 3)); err != nil {
		t.Fatal(err)
	}
	got, err := b.Get(t.Context(), kept)
	if err != nil {
		t.Fatal(err)
	}
	if d := archivetest.Diff(got, archivetest.Document(kept, 3)); d != "" {
		t.Fatal(d)
	}
	if err := a.Delete(t.Context(), deleted); err != nil {
		t.Fatal(err)
	}
	if err := b.Put(t.Context(), archivetest.Document(deleted, 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Get(t.Context(), deleted); err == nil {
		t.Fatal("a replica's late Put brought back a paper another deleted")
	}
}

// Replicas started at once migrate one after another under the advisory
// lock: none fails, and the schema is applied once.
func TestConcurrentOpensMigrateOnce(t *testing.T) {
	dsn := pgtest.New(t)
	var logs logtest.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	const n = 4
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			a, err := postgres.Open(t.Context(), dsn, log)
			errs[i] = err
			if err == nil {
				_ = a.Close()
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open %d: %v", i, err)
		}
	}
	if got := strings.Count(logs.String(), "archive migration applied"); got != 1 {
		t.Fatalf("%d migrations applied by %d replicas, want 1:\n%s", got, n, logs.String())
	}
}

// Every migration goes down and up again on a database with data, so a
// broken Down is caught before someone needs it.
func TestMigrationsGoDownAndUp(t *testing.T) {
	dsn := pgtest.New(t)
	a := open(t, dsn)
	if err := a.Put(t.Context(), archivetest.Document(archivetest.ID(), 2)); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("pgx", dsn) // registered by pgx/v5/stdlib, which the driver imports
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	archivetest.MigrationsGoDownAndUp(t, goose.DialectPostgres, db, postgres.Migrations())
}

// The DSN may carry a password: Open's errors and logs never show it,
// whether the DSN does not parse or the server does not answer.
func TestOpenNeverShowsTheDSNPassword(t *testing.T) {
	const secret = "s3cr3t-Pa55"
	for _, dsn := range []string{
		"postgres://postgres:" + secret + "@127.0.0.1:1/x?sslmode=disable&connect_timeout=2",
		"host=127.0.0.1 port=1 user=postgres password=" + secret + " dbname=x sslmode=disable connect_timeout=2",
		"postgres://postgres:" + secret + "@[::1/x",
		"postgres://postgres:" + secret + "@127.0.0.1:5432/x?sslmode=disable&pool_max_conns=many",
		"host=127.0.0.1 password='" + secret + " port=x",
	} {
		var logs logtest.Buffer
		a, err := postgres.Open(t.Context(), dsn, slog.New(slog.NewTextHandler(&logs, nil)))
		if err == nil {
			_ = a.Close()
			t.Errorf("Open(%q) succeeded", dsn)
			continue
		}
		if strings.Contains(err.Error(), secret) || strings.Contains(logs.String(), secret) {
			t.Errorf("the password shows:\nerror: %v\nlogs: %s", err, logs.String())
		}
	}
}

func BenchmarkArchive(b *testing.B) {
	archivetest.Bench(b, open(b, pgtest.New(b)))
}
