package app_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/papercast/papercast/app"
	"github.com/papercast/papercast/internal/logtest"
	"github.com/papercast/papercast/internal/pgtest"
	"github.com/papercast/papercast/internal/redistest"
	"github.com/papercast/papercast/internal/wstest"
)

// archiveRows counts each paper's archived rows (tombstones not counted).
func archiveRows(t *testing.T, dsn string, ids []string) map[string]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	out := map[string]int{}
	for _, id := range ids {
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM archived_papers WHERE id = $1 AND NOT deleted`, id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		out[id] = n
	}
	return out
}

// TestArchivedPaperSurvivesFlushall: Redis + PostgreSQL. A finalized paper
// is archived; after FLUSHALL the replica serves it from the archive byte
// for byte, with the same ETag, 304 on it, and a joining session gets it.
func TestArchivedPaperSurvivesFlushall(t *testing.T) {
	srv := redistest.Start(t)
	dsn := pgtest.New(t)
	a := startApp(t, archiveConfig(replicaConfig([]string{srv.Addr()}, "standalone", prefix()), app.ArchivePostgres, dsn))
	base := a.URL()
	p := writeAndFinalize(t, base, 5)
	res, body := fetch(t, base+"/v1/papers/"+p.ID)
	tag := res.Header.Get("ETag")
	waitFor(t, "the paper archived", archived(t, base, 1))
	if _, err := srv.Do("FLUSHALL"); err != nil {
		t.Fatal(err)
	}
	servedSame(t, base, p.ID, body, tag)
	joinsFinal(t, base, p.ID, 5)
	if code := status(t, base+"/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz %d", code)
	}
	// DELETE removes it from the archive too.
	if code := ownerCall(t, http.MethodDelete, base+"/v1/papers/"+p.ID, p.OwnerKey); code != http.StatusNoContent {
		t.Fatalf("DELETE of an archived paper: %d", code)
	}
	if code := status(t, base+"/v1/papers/"+p.ID); code != http.StatusNotFound {
		t.Fatalf("GET after DELETE: %d, want 404", code)
	}
}

// TestTwoReplicasArchivingAtOnceWriteOneRowEach: two replicas poll the same
// to-archive set; every paper is archived once, each in one row.
func TestTwoReplicasArchivingAtOnceWriteOneRowEach(t *testing.T) {
	srv := redistest.Start(t)
	dsn := pgtest.New(t)
	pre := prefix()
	cfg := archiveConfig(replicaConfig([]string{srv.Addr()}, "standalone", pre), app.ArchivePostgres, dsn)
	cfg.Archive.Batch = 2
	r1, r2 := startApp(t, cfg), startApp(t, cfg)
	const papers = 12
	var ids []string
	for i := range papers {
		base := r1.URL()
		if i%2 == 1 {
			base = r2.URL()
		}
		ids = append(ids, writeAndFinalize(t, base, 1).ID)
	}
	total := func() float64 {
		return metricValue(t, r1.URL(), "papercast_archived_total") + metricValue(t, r2.URL(), "papercast_archived_total")
	}
	waitFor(t, "every paper archived", func() bool { return total() >= papers })
	if n, _ := srv.Do("ZCARD", pre+"archive"); n != "0" {
		t.Fatalf("the to-archive set still holds %s papers", n)
	}
	if got := total(); got != papers {
		t.Fatalf("the replicas archived %v papers between them, want %d (each once)", got, papers)
	}
	rows := archiveRows(t, dsn, ids)
	for _, id := range ids {
		if rows[id] != 1 {
			t.Errorf("paper %s has %d rows in the archive, want 1", id, rows[id])
		}
	}
}

// proxy is a TCP proxy to a PostgreSQL whose line the test can cut and
// restore: an archive outage without touching the shared server.
type proxy struct {
	t      testing.TB
	target string
	ln     net.Listener
	addr   string
	mu     sync.Mutex
	cut    bool
	conns  map[net.Conn]bool
	wg     sync.WaitGroup
}

func startProxy(t testing.TB, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{t: t, target: target, ln: ln, addr: ln.Addr().String(), conns: map[net.Conn]bool{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.setCut(true)
		p.wg.Wait()
	})
	return p
}

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			c.Close()
			continue
		}
		up, err := net.DialTimeout("tcp", p.target, time.Second)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns[c], p.conns[up] = true, true
		p.wg.Add(2)
		p.mu.Unlock()
		pipe := func(dst, src net.Conn) {
			defer p.wg.Done()
			io.Copy(dst, src)
			dst.Close()
			src.Close()
		}
		go pipe(up, c)
		go pipe(c, up)
	}
}

// setCut refuses new connections and drops the open ones (true), or lets
// them through again (false).
func (p *proxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for c := range p.conns {
			c.Close()
		}
		clear(p.conns)
	}
}

// TestArchiveOutageGrowsTheBacklogAndRecovers: with the archive's
// PostgreSQL unreachable, editing and finalizing go on (/readyz 200), the
// backlog metric grows, a DELETE answers 503 and deletes nothing; when the
// database is back, the archiver catches up by itself.
func TestArchiveOutageGrowsTheBacklogAndRecovers(t *testing.T) {
	srv := redistest.Start(t)
	dsn := pgtest.New(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	px := startProxy(t, u.Host)
	u.Host = px.addr
	cfg := archiveConfig(replicaConfig([]string{srv.Addr()}, "standalone", prefix()), app.ArchivePostgres, u.String())
	cfg.Archive.Timeout = 500 * time.Millisecond
	cfg.Archive.Lease = time.Second
	a := startApp(t, cfg)
	base := a.URL()

	px.setCut(true)
	const papers = 3
	var created []wstest.Created
	for range papers {
		created = append(created, writeAndFinalize(t, base, 1))
	}
	waitFor(t, "the backlog metric to show the papers", func() bool {
		return metricValue(t, base, "papercast_archive_backlog") >= papers
	})
	waitFor(t, "archive failures counted", func() bool { return metricValue(t, base, "papercast_archive_failures_total") > 0 })
	if code := status(t, base+"/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz %d during an archive outage, want 200", code)
	}
	p := created[0]
	if code := ownerCall(t, http.MethodDelete, base+"/v1/papers/"+p.ID, p.OwnerKey); code != http.StatusServiceUnavailable {
		t.Fatalf("DELETE with the archive down: %d, want 503", code)
	}
	if code := status(t, base+"/v1/papers/"+p.ID); code != http.StatusOK {
		t.Fatalf("GET after a refused DELETE: %d, want 200", code)
	}

	px.setCut(false)
	waitFor(t, "the backlog drained", func() bool {
		return metricValue(t, base, "papercast_archive_backlog") == 0 && metricValue(t, base, "papercast_archived_total") >= papers
	})
	if code := ownerCall(t, http.MethodDelete, base+"/v1/papers/"+p.ID, p.OwnerKey); code != http.StatusNoContent {
		t.Fatalf("DELETE after the outage: %d", code)
	}
}

// TestKilledReplicaMidArchiveLosesNothing: a papercast process finalizes a
// paper and is killed -9 before its archiver gets to it (its poll is an
// hour); another process takes the paper from the to-archive set.
func TestKilledReplicaMidArchiveLosesNothing(t *testing.T) {
	srv := redistest.Start(t)
	dsn := pgtest.New(t)
	env := append(redisEnv(srv), "PAPERCAST_ARCHIVE_DRIVER=postgres", "PAPERCAST_ARCHIVE_DSN="+dsn,
		"PAPERCAST_ARCHIVE_KEEP_IN_REDIS=1s", "PAPERCAST_ARCHIVE_MAX_BACKOFF=1h", "PAPERCAST_ARCHIVE_POLL=1h")
	a := startProc(t, env...)
	p := writeAndFinalize(t, a.url, 4)
	res, body := fetch(t, a.url+"/v1/papers/"+p.ID)
	tag := res.Header.Get("ETag")
	if err := a.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-a.done
	a.done <- nil // for the cleanup
	if n, _ := srv.Do("ZCARD", "pc:archive"); n != "1" {
		t.Fatalf("after the kill the to-archive set holds %q papers, want 1", n)
	}
	b := startProc(t, append(redisEnv(srv), "PAPERCAST_ARCHIVE_DRIVER=postgres", "PAPERCAST_ARCHIVE_DSN="+dsn,
		"PAPERCAST_ARCHIVE_KEEP_IN_REDIS=1s", "PAPERCAST_ARCHIVE_POLL=50ms")...)
	waitFor(t, "the other replica archived it", archived(t, b.url, 1))
	waitFor(t, "Redis let it go", func() bool { return len(redisKeysOf(t, srv, "pc:", p.ID)) == 0 })
	servedSame(t, b.url, p.ID, body, tag)
	if rows := archiveRows(t, dsn, []string{p.ID}); rows[p.ID] != 1 {
		t.Fatalf("%d rows, want 1", rows[p.ID])
	}
}

// TestArchiveDSNIsNeverEchoed: the DSN (it may hold a password) appears in
// no error and no log line, whether the archive cannot be reached, the
// config is wrong, or the replica serves.
func TestArchiveDSNIsNeverEchoed(t *testing.T) {
	const password = "Pa55-w0rd-that-must-not-leak"
	dsn := "postgres://papercast:" + password + "@" + freeClosedPort(t) + "/papers_db?sslmode=disable&connect_timeout=2"
	logs := &logtest.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	check := func(what, text string) {
		t.Helper()
		if strings.Contains(text, password) || strings.Contains(text, dsn) {
			t.Fatalf("%s echoes the archive DSN: %s", what, text)
		}
	}
	cfg := archiveConfig(memoryConfig(), app.ArchivePostgres, dsn)
	_, err := app.New(context.Background(), cfg, log)
	if err == nil {
		t.Fatal("New with an unreachable archive succeeded")
	}
	check("the start error", err.Error())
	check("the log", logs.String())

	cfg.Archive.Driver = app.ArchiveNone
	err = cfg.Validate()
	if err == nil {
		t.Fatal("a dsn without a driver passed validation")
	}
	check("the config error", err.Error())
	cfg.Archive.Driver, cfg.Archive.Timeout = app.ArchivePostgres, 0
	if err = cfg.Validate(); err == nil {
		t.Fatal("a zero archive.timeout passed validation")
	}
	check("the config error", err.Error())

	// A replica that serves: its log names the driver, never the DSN.
	good := pgtest.New(t)
	cfg = archiveConfig(memoryConfig(), app.ArchivePostgres, good)
	a, logs2 := startAppLogging(t, cfg)
	writeAndFinalize(t, a.URL(), 1)
	waitFor(t, "the paper archived", archived(t, a.URL(), 1))
	if strings.Contains(logs2.String(), good) {
		t.Fatalf("the log echoes the DSN:\n%s", logs2.String())
	}
}

// BenchmarkArchiverPostgres measures how fast one replica's archiver
// drains a backlog into PostgreSQL: b.N papers of 10 notes are finalized on
// a replica without an archive (finalize queues them all the same), then a
// replica with the archive starts and the time until it archived them all
// (claim, snapshot, put, read back, done) is measured.
func BenchmarkArchiverPostgres(b *testing.B) {
	srv := redistest.Start(b)
	pre := prefix()
	writer := replicaConfig([]string{srv.Addr()}, "standalone", pre)
	writer.Limits.CreatesPerMinute, writer.Limits.CreatesBurst = 1e6, 1e6
	w, err := app.New(context.Background(), writer, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	if err := w.Start(); err != nil {
		b.Fatal(err)
	}
	defer w.Shutdown(context.Background())
	for range b.N {
		writeAndFinalize(b, w.URL(), 10)
	}
	cfg := archiveConfig(replicaConfig([]string{srv.Addr()}, "standalone", pre), app.ArchivePostgres, pgtest.New(b))
	cfg.Archive.Poll = 10 * time.Millisecond
	a, err := app.New(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	if err := a.Start(); err != nil {
		b.Fatal(err)
	}
	defer a.Shutdown(context.Background())
	waitFor(b, "the backlog drained", func() bool {
		return metricValue(b, a.URL(), "papercast_archived_total") >= float64(b.N)
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "papers/s")
}
