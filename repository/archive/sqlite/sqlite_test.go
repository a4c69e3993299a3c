package sqlite_test

import (
	"context"
	"database/sql"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/papercast/papercast/internal/logtest"
	"github.com/papercast/papercast/repository/archive/archivetest"
	"github.com/papercast/papercast/repository/archive/sqlite"
	"github.com/papercast/papercast/usecase"
)

var _ usecase.Archive = (*sqlite.Archive)(nil)

func open(t testing.TB, path string) *sqlite.Archive {
	t.Helper()
	a, err := sqlite.Open(context.Background(), path, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := a.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return a
}

func TestContract(t *testing.T) {
	archivetest.Run(t, func(t *testing.T) usecase.Archive {
		return open(t, filepath.Join(t.TempDir(), "archive.db"))
	})
}

// What a Put stored survives the process: a new Open of the same file
// reads it, and the tombstones too.
func TestReopenKeepsDocumentsAndTombstones(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nested", "dir", "archive.db")
	kept, deleted := archivetest.ID(), archivetest.ID()
	a, err := sqlite.Open(t.Context(), path, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := a.Put(t.Context(), archivetest.Document(kept, 3)); err != nil {
		t.Fatal(err)
	}
	if err := a.Delete(t.Context(), deleted); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	b := open(t, path)
	got, err := b.Get(t.Context(), kept)
	if err != nil {
		t.Fatalf("Get after reopen: %v", err)
	}
	if d := archivetest.Diff(got, archivetest.Document(kept, 3)); d != "" {
		t.Fatal(d)
	}
	if err := b.Put(t.Context(), archivetest.Document(deleted, 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get(t.Context(), deleted); err == nil {
		t.Fatal("a paper deleted before the reopen came back")
	}
}

// Two archives opened on one file at once (two processes on one machine,
// say): both migrate without failing and both write.
func TestTwoOpensOfOneFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "archive.db")
	var wg sync.WaitGroup
	as := make([]*sqlite.Archive, 2)
	errs := make([]error, 2)
	for i := range as {
		wg.Go(func() { as[i], errs[i] = sqlite.Open(t.Context(), path, slog.New(slog.DiscardHandler)) })
	}
	wg.Wait()
	for i, a := range as {
		if errs[i] != nil {
			t.Fatalf("Open %d: %v", i, errs[i])
		}
		t.Cleanup(func() { _ = a.Close() })
		if err := a.Put(t.Context(), archivetest.Document(archivetest.ID(), 2)); err != nil {
			t.Fatalf("Put through archive %d: %v", i, err)
		}
	}
}

func TestOpenOnlyAppliesNewMigrationsAndLogsThem(t *testing.T) {
	path := filepath.Join(t.TempDir(), "archive.db")
	var logs logtest.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	for range 2 {
		a, err := sqlite.Open(t.Context(), path, log)
		if err != nil {
			t.Fatal(err)
		}
		_ = a.Close()
	}
	if n := strings.Count(logs.String(), "archive migration applied"); n != 1 {
		t.Fatalf("%d migrations logged over two opens, want 1:\n%s", n, logs.String())
	}
}

// Every migration goes down and up again on a database with data, so a
// broken Down is caught before someone needs it.
func TestMigrationsGoDownAndUp(t *testing.T) {
	path := filepath.Join(t.TempDir(), "archive.db")
	a := open(t, path)
	if err := a.Put(t.Context(), archivetest.Document(archivetest.ID(), 2)); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	archivetest.MigrationsGoDownAndUp(t, goose.DialectSQLite3, db, sqlite.Migrations())
}

func TestOpenFailsWhereNoFileCanBe(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"", filepath.Join(blocker, "archive.db")} {
		if a, err := sqlite.Open(t.Context(), path, slog.New(slog.DiscardHandler)); err == nil {
			_ = a.Close()
			t.Errorf("Open(%q) succeeded", path)
		}
	}
}

func TestPathWithURISpecialCharacters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a dir?x=1#frag", "archive%20.db")
	a := open(t, path)
	if err := a.Put(t.Context(), archivetest.Document(archivetest.ID(), 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the archive is not at the path asked for: %v", err)
	}
}

func BenchmarkArchive(b *testing.B) {
	archivetest.Bench(b, open(b, filepath.Join(b.TempDir(), "archive.db")))
}
