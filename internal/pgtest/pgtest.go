// Package pgtest gives a test its own PostgreSQL database on the machine's
// server, created fresh and dropped when the test ends.
//
// The server is postgres://postgres@127.0.0.1:5432/postgres (trust auth), or
// the DSN in PAPERCAST_TEST_PG_DSN; its user must be allowed to create
// databases. A server that does not answer fails the test rather than
// skipping it: a skipped archive test would pass CI without testing anything.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultServer is the server tests use unless EnvServer names another.
const DefaultServer = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// EnvServer overrides DefaultServer: a DSN (URL or key=value form) of a
// database the tests' user can connect to and create databases from.
const EnvServer = "PAPERCAST_TEST_PG_DSN"

// Prefix starts every database pgtest creates, so a leftover one (a test
// binary killed before its cleanup) is recognisable.
const Prefix = "papercast_test_"

// timeout bounds each administrative step (connect, create, drop).
const timeout = 30 * time.Second

// Server is the DSN of the server tests use.
func Server() string {
	if s := os.Getenv(EnvServer); s != "" {
		return s
	}
	return DefaultServer
}

// New creates an empty database named Prefix+<random> and returns a DSN
// for it; t.Cleanup drops it, ending any connection still open to it.
func New(t testing.TB) string {
	t.Helper()
	server := Server()
	var b [8]byte
	_, _ = rand.Read(b[:])
	name := Prefix + hex.EncodeToString(b[:])
	admin(t, server, "CREATE DATABASE "+name)
	t.Cleanup(func() {
		// WITH (FORCE) terminates the connections still open to it (a pool
		// the test did not close) before dropping it: PostgreSQL 13+.
		admin(t, server, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	return WithDatabase(server, name)
}

// Exists reports whether a database of that name exists on the server.
func Exists(t testing.TB, name string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	conn := connect(t, ctx, Server())
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return n > 0
}

func admin(t testing.TB, server, stmt string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	conn := connect(t, ctx, server)
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, stmt); err != nil {
		t.Fatalf("pgtest: %s: %v", stmt, err)
	}
}

func connect(t testing.TB, ctx context.Context, server string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		// The error names host, port, user and database, never a password.
		t.Fatalf("pgtest: no PostgreSQL answers (%v).\nThese tests need PostgreSQL at 127.0.0.1:5432 with trust auth for user postgres "+
			"(Debian: pg_ctlcluster 15 main start; .ci/run starts it), or a server's DSN in %s.", err, EnvServer)
	}
	return conn
}

// WithDatabase is server's DSN with its database replaced by name.
func WithDatabase(server, name string) string {
	if strings.HasPrefix(server, "postgres://") || strings.HasPrefix(server, "postgresql://") {
		u, err := url.Parse(server)
		if err == nil {
			u.Path = "/" + name
			return u.String()
		}
	}
	// key=value form: the last dbname wins.
	return fmt.Sprintf("%s dbname=%s", server, name)
}
