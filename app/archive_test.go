package app_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/papercast/papercast/app"
	"github.com/papercast/papercast/internal/redistest"
	"github.com/papercast/papercast/internal/wstest"
)

// archiveConfig is a replica with an archive that archives fast: the tests
// wait for it, never sleep a fixed time.
func archiveConfig(cfg app.Config, driver, dsn string) app.Config {
	cfg.Archive.Driver = driver
	cfg.Archive.DSN = dsn
	cfg.Archive.Poll = 50 * time.Millisecond
	cfg.Archive.MaxBackoff = 200 * time.Millisecond
	cfg.Archive.Timeout = 2 * time.Second
	cfg.Archive.Lease = 5 * time.Second
	return cfg
}

func memoryConfig() app.Config {
	cfg := app.Defaults()
	cfg.Server.Addr = "127.0.0.1:0"
	cfg.Auth.TrustQueryUser = true
	cfg.Auth.GuestSecret = testGuestSecret
	return cfg
}

// metricValue reads one unlabelled series from /metrics.
func metricValue(t testing.TB, base, name string) float64 {
	t.Helper()
	res, body := fetch(t, base+"/metrics")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d", res.StatusCode)
	}
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			return f
		}
	}
	t.Fatalf("/metrics has no %s", name)
	return 0
}

// waitFor polls cond until it holds (at most 30s).
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// writeAndFinalize writes notes on a new paper over a WebSocket and
// finalizes it over REST.
func writeAndFinalize(t testing.TB, base string, notes int) wstest.Created {
	t.Helper()
	p := wstest.CreatePaper(t, base)
	c := wstest.MustDial(t, base, p.ID, wstest.Q("user", "u1", "name", "Ana"))
	c.First()
	for i := range notes {
		ref := fmt.Sprint("r", i)
		c.Send(wstest.Upsert(ref, fmt.Sprint("n", i), map[string]any{"text": fmt.Sprintf("note <%d> & \"more\"", i), "x": i * 10}))
		if f := c.Next(wstest.OfType("ack", "error")); f.Type != "ack" {
			t.Fatalf("note %d refused: %s", i, f.Raw)
		}
	}
	c.Conn.Close()
	if code := ownerCall(t, http.MethodPost, base+"/v1/papers/"+p.ID+"/finalize", p.OwnerKey); code != http.StatusOK {
		t.Fatalf("finalize: %d", code)
	}
	return p
}

func ownerCall(t testing.TB, method, url, key string) int {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

// servedSame checks GET of the paper answers exactly body and tag, and a
// conditional GET with tag answers 304.
func servedSame(t *testing.T, base, id string, body []byte, tag string) {
	t.Helper()
	res, got := fetch(t, base+"/v1/papers/"+id)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", id, res.StatusCode, got)
	}
	if !bytes.Equal(got, body) {
		t.Fatalf("GET %s body changed:\n was %s\n now %s", id, body, got)
	}
	if et := res.Header.Get("ETag"); et != tag {
		t.Fatalf("GET %s ETag %q, was %q", id, et, tag)
	}
	res, _ = fetch(t, base+"/v1/papers/"+id, "If-None-Match", tag)
	if res.StatusCode != http.StatusNotModified {
		t.Fatalf("conditional GET %s: %d, want 304", id, res.StatusCode)
	}
}

// joinsFinal checks a session joining the paper gets a final snapshot with
// n elements.
func joinsFinal(t *testing.T, base, id string, n int) {
	t.Helper()
	c := wstest.MustDial(t, base, id, wstest.Q("user", "u9"))
	defer c.Conn.Close()
	f := c.First()
	if f.Type != "snapshot" || len(f.Elements) != n {
		t.Fatalf("join of %s: %s with %d elements, want a snapshot with %d: %s", id, f.Type, len(f.Elements), n, f.Raw)
	}
}

func archived(t *testing.T, base string, n float64) func() bool {
	return func() bool { return metricValue(t, base, "papercast_archived_total") >= n }
}

// redisKeysOf lists the Redis keys of a paper.
func redisKeysOf(t *testing.T, srv *redistest.Server, prefix, id string) []string {
	t.Helper()
	out, err := srv.Do("KEYS", prefix+"{"+id+"}*")
	if err != nil {
		t.Fatal(err)
	}
	if out == "" {
		return nil
	}
	return strings.Split(out, "\n")
}

// TestArchivedPaperLeavesRedisAfterKeep: once archived, every key of the
// paper (meta, elements, authors, history, presence, bans, session order)
// leaves Redis after archive.keep_in_redis; the paper is still served.
func TestArchivedPaperLeavesRedisAfterKeep(t *testing.T) {
	srv := redistest.Start(t)
	pre := prefix()
	cfg := archiveConfig(replicaConfig([]string{srv.Addr()}, "standalone", pre), app.ArchiveSQLite, filepath.Join(t.TempDir(), "archive.db"))
	cfg.Archive.KeepInRedis = time.Second
	a := startApp(t, cfg)
	base := a.URL()
	p := wstest.CreatePaper(t, base)
	ban, _ := http.NewRequest(http.MethodPost, base+"/v1/papers/"+p.ID+"/bans", strings.NewReader(`{"user":"spammer"}`))
	ban.Header.Set("Authorization", "Bearer "+p.OwnerKey)
	ban.Header.Set("Content-Type", "application/json")
	if res, err := http.DefaultClient.Do(ban); err != nil || res.StatusCode != http.StatusNoContent {
		t.Fatalf("ban: %v %v", res, err)
	} else {
		res.Body.Close()
	}
	c := wstest.MustDial(t, base, p.ID, wstest.Q("user", "u1"))
	c.First()
	c.Send(wstest.Upsert("r1", "n1", map[string]any{"text": "hi"}))
	c.Next(wstest.OfType("ack"))
	if code := ownerCall(t, http.MethodPost, base+"/v1/papers/"+p.ID+"/finalize", p.OwnerKey); code != http.StatusOK {
		t.Fatalf("finalize: %d", code)
	}
	res, body := fetch(t, base+"/v1/papers/"+p.ID)
	tag := res.Header.Get("ETag")
	if keys := redisKeysOf(t, srv, pre, p.ID); len(keys) < 5 {
		t.Fatalf("before archiving Redis holds only %v", keys)
	}
	c.Conn.Close()
	waitFor(t, "the paper archived", archived(t, base, 1))
	waitFor(t, "no key of the paper left in Redis", func() bool { return len(redisKeysOf(t, srv, pre, p.ID)) == 0 })
	if n, _ := srv.Do("ZCARD", pre+"archive"); n != "0" {
		t.Fatalf("the to-archive set still holds %s papers", n)
	}
	servedSame(t, base, p.ID, body, tag)
}

// TestMemoryStoreWithSQLiteKeepsFinalPapersAcrossRestarts: make run's
// setup. The embedded store forgets everything on restart; the SQLite
// archive keeps the final papers.
func TestMemoryStoreWithSQLiteKeepsFinalPapersAcrossRestarts(t *testing.T) {
	file := filepath.Join(t.TempDir(), "data", "papercast.db")
	cfg := archiveConfig(memoryConfig(), app.ArchiveSQLite, file)
	a, err := app.New(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	base := a.URL()
	p := writeAndFinalize(t, base, 3)
	res, body := fetch(t, base+"/v1/papers/"+p.ID)
	tag := res.Header.Get("ETag")
	open := wstest.CreatePaper(t, base)
	waitFor(t, "the paper archived", archived(t, base, 1))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	b := startApp(t, cfg)
	servedSame(t, b.URL(), p.ID, body, tag)
	joinsFinal(t, b.URL(), p.ID, 3)
	if code := status(t, b.URL()+"/v1/papers/"+open.ID); code != http.StatusNotFound {
		t.Fatalf("an open paper of the embedded store: %d after a restart, want 404 (only final papers are archived)", code)
	}
}
