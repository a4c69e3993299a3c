package pgtest_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"

	"github.com/papercast/papercast/internal/pgtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// A test gets a database of its own, usable, and gone once the test ends,
// even with a connection left open.
func TestNewCreatesAndDropsADatabase(t *testing.T) {
	var (
		name string
		conn *pgx.Conn
	)
	// Closed by the outer test, so it is still open while the inner
	// test's cleanup drops the database.
	t.Cleanup(func() {
		if conn != nil {
			_ = conn.Close(context.Background())
		}
	})
	t.Run("user", func(t *testing.T) {
		dsn := pgtest.New(t)
		var err error
		conn, err = pgx.Connect(t.Context(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		if err := conn.QueryRow(t.Context(), "SELECT current_database()").Scan(&name); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(name, pgtest.Prefix) || !pgtest.Exists(t, name) {
			t.Fatalf("connected to %q", name)
		}
	})
	if pgtest.Exists(t, name) {
		t.Fatalf("database %s still exists after its test", name)
	}
}

func TestWithDatabase(t *testing.T) {
	for _, tc := range []struct{ server, want string }{
		{"postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "postgres://postgres@127.0.0.1:5432/d1?sslmode=disable"},
		{"postgresql://u:p@h/x", "postgresql://u:p@h/d1"},
		{"host=h user=u dbname=x", "host=h user=u dbname=x dbname=d1"},
	} {
		if got := pgtest.WithDatabase(tc.server, "d1"); got != tc.want {
			t.Errorf("WithDatabase(%q) = %q, want %q", tc.server, got, tc.want)
		}
	}
}
