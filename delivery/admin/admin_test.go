package admin_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/papercast/papercast/delivery/admin"
	"github.com/papercast/papercast/delivery/rest"
	"github.com/papercast/papercast/metrics"
	"github.com/papercast/papercast/usecase"
)

const token = "s3cret-admin-token"

// The hub's method set satisfies what admin reads.
var _ admin.RoomLister = (*usecase.Hub)(nil)

type fakeHub struct {
	rooms    []usecase.RoomStats
	sessions int
}

func (h *fakeHub) Stats() ([]usecase.RoomStats, int) {
	return append([]usecase.RoomStats(nil), h.rooms...), h.sessions
}

// countingSource records how often it was asked.
type countingSource struct {
	admin.Source
	calls atomic.Int32
}

func (s *countingSource) Stats(ctx context.Context, scope admin.Scope) admin.Stats {
	s.calls.Add(1)
	return s.Source.Stats(ctx, scope)
}

func newLocal() *admin.Local {
	m := metrics.New()
	m.Frame("upsert", "ok")
	m.Frame("delete", "finalized")
	m.SlowConsumerClosed()
	m.ArchiveBacklog(3)
	return &admin.Local{
		ID: "r1", Addr: "127.0.0.1:8080", StartedAt: time.Now().Add(-time.Minute), StoreKind: "redis",
		Hub: &fakeHub{sessions: 5, rooms: []usecase.RoomStats{
			{PaperID: "bbbb", Sessions: 1, Subscribing: 2, Seq: 7},
			{PaperID: "aaaa", Sessions: 4, Seq: 42},
			{PaperID: "zzzz", Sessions: 0, Seq: 3},
		}},
		Counts: m,
		Ping:   func(context.Context) (time.Duration, error) { return 1500 * time.Microsecond, nil },
	}
}

func newEcho(tok string, src admin.Source, pprof bool) *echo.Echo {
	e := echo.New()
	admin.Register(e, tok, src, pprof)
	return e
}

func do(e http.Handler, method, path, auth string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec
}

var allRoutes = []string{
	"/admin", "/admin/stats", "/admin/stats?scope=self",
	"/debug/pprof", "/debug/pprof/", "/debug/pprof/heap", "/debug/pprof/cmdline",
	"/debug/pprof/symbol", "/debug/pprof/goroutine?debug=1",
}

func TestEmptyTokenDisablesEveryRoute(t *testing.T) {
	src := &countingSource{Source: newLocal()}
	e := newEcho("", src, true)
	for _, path := range allRoutes {
		for _, auth := range []string{"", "Bearer ", "Bearer anything"} {
			if rec := do(e, http.MethodGet, path, auth); rec.Code != http.StatusNotFound {
				t.Errorf("GET %s (auth %q) with admin disabled: status %d, want 404", path, auth, rec.Code)
			}
		}
	}
	if n := src.calls.Load(); n != 0 {
		t.Errorf("disabled admin read the source %d times", n)
	}
}

func TestMissingTokenIs401(t *testing.T) {
	src := &countingSource{Source: newLocal()}
	e := newEcho(token, src, true)
	for _, path := range []string{"/admin/stats", "/debug/pprof/", "/debug/pprof/heap", "/debug/pprof/cmdline"} {
		for _, auth := range []string{"", "Bearer", "Bearer   ", "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:"+token)), token} {
			rec := do(e, http.MethodGet, path, auth)
			if rec.Code != http.StatusUnauthorized {
				t.Errorf("GET %s auth %q: status %d, want 401", path, auth, rec.Code)
			}
			if !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("GET %s: 401 without a Bearer challenge", path)
			}
		}
	}
	if n := src.calls.Load(); n != 0 {
		t.Errorf("unauthenticated requests read the source %d times", n)
	}
}

func TestWrongTokenIs403(t *testing.T) {
	src := &countingSource{Source: newLocal()}
	e := newEcho(token, src, true)
	for _, wrong := range []string{"nope", token[:len(token)-1], token + "x", strings.ToUpper(token)} {
		for _, path := range []string{"/admin/stats", "/debug/pprof/"} {
			if rec := do(e, http.MethodGet, path, "Bearer "+wrong); rec.Code != http.StatusForbidden {
				t.Errorf("GET %s with token %q: status %d, want 403", path, wrong, rec.Code)
			}
		}
	}
	if n := src.calls.Load(); n != 0 {
		t.Errorf("wrong-token requests read the source %d times", n)
	}
	// The scheme is case-insensitive (RFC 7235); the token is not.
	if rec := do(e, http.MethodGet, "/admin/stats", "bearer "+token); rec.Code != http.StatusOK {
		t.Errorf("lower-case scheme: status %d, want 200", rec.Code)
	}
}

func TestStatsJSONShape(t *testing.T) {
	e := newEcho(token, newLocal(), false)
	rec := do(e, http.MethodGet, "/admin/stats", "Bearer "+token)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("content type %q", ct)
	}
	if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("cache-control %q, want no-store", cc)
	}
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if _, ok := body["generated_at"].(string); !ok {
		t.Error("no generated_at")
	}
	reps, _ := body["replicas"].([]any)
	if len(reps) != 1 {
		t.Fatalf("replicas = %v, want this replica only", body["replicas"])
	}
	r := reps[0].(map[string]any)
	want := func(key string, v any) {
		t.Helper()
		if got := r[key]; fmt.Sprint(got) != fmt.Sprint(v) {
			t.Errorf("replica %s = %v, want %v", key, got, v)
		}
	}
	want("id", "r1")
	want("addr", "127.0.0.1:8080")
	want("self", true)
	want("sessions", 5)
	want("active_papers", 2)
	want("papers_omitted", 0)
	want("papers", "[map[paper:aaaa seq:42 sessions:4 subscribing:0] map[paper:bbbb seq:7 sessions:1 subscribing:2]]")
	want("empty_papers", "[map[paper:zzzz seq:3 sessions:0 subscribing:0]]")
	if up, _ := r["uptime_seconds"].(float64); up < 59 || up > 120 {
		t.Errorf("uptime_seconds = %v, want about 60", r["uptime_seconds"])
	}
	rt, _ := r["runtime"].(map[string]any)
	for _, k := range []string{"goroutines", "heap_bytes", "heap_goal_bytes", "total_bytes", "gomaxprocs", "rss_bytes", "cpu_seconds"} {
		if v, _ := rt[k].(float64); v <= 0 {
			t.Errorf("runtime.%s = %v, want > 0", k, rt[k])
		}
	}
	for _, k := range []string{"gc_cycles", "gc_cpu_fraction", "gc_pause_p99_seconds", "heap_objects", "go_version"} {
		if _, ok := rt[k]; !ok {
			t.Errorf("runtime.%s missing", k)
		}
	}
	st, _ := r["store"].(map[string]any)
	if st["kind"] != "redis" || st["status"] != "ok" || st["latency_ms"] != 1.5 {
		t.Errorf("store = %v, want redis ok 1.5 ms", st)
	}
	c, _ := r["counts"].(map[string]any)
	if c["slow_consumer_closes"] != 1.0 {
		t.Errorf("counts.slow_consumer_closes = %v, want 1", c["slow_consumer_closes"])
	}
	if c["archive_backlog"] != 3.0 {
		t.Errorf("counts.archive_backlog = %v, want 3", c["archive_backlog"])
	}
	if fmt.Sprint(c["errors_by_code"]) != "map[finalized:1]" {
		t.Errorf("counts.errors_by_code = %v, want map[finalized:1]", c["errors_by_code"])
	}
	if rec := do(e, http.MethodGet, "/admin/stats?scope=everything", "Bearer "+token); rec.Code != http.StatusBadRequest {
		t.Errorf("unknown scope: status %d, want 400", rec.Code)
	}
}

func TestLocalListsEmptyRoomsApartAndBoundsTheList(t *testing.T) {
	hub := &fakeHub{}
	for i := range admin.MaxPapers + 20 {
		hub.rooms = append(hub.rooms, usecase.RoomStats{PaperID: fmt.Sprintf("p%04d", i), Sessions: 1 + i%3})
	}
	hub.rooms = append(hub.rooms, usecase.RoomStats{PaperID: "leak-b"}, usecase.RoomStats{PaperID: "leak-a"})
	r := (&admin.Local{Hub: hub}).Self(t.Context())
	if r.ActivePapers != admin.MaxPapers+20 {
		t.Errorf("active papers = %d, want %d", r.ActivePapers, admin.MaxPapers+20)
	}
	if len(r.Papers) != admin.MaxPapers || r.PapersOmitted != 20 {
		t.Errorf("listed %d, omitted %d; want %d and 20", len(r.Papers), r.PapersOmitted, admin.MaxPapers)
	}
	for i := 1; i < len(r.Papers); i++ {
		if r.Papers[i].Sessions > r.Papers[i-1].Sessions {
			t.Fatalf("papers not sorted by sessions: %v before %v", r.Papers[i-1], r.Papers[i])
		}
	}
	if len(r.EmptyPapers) != 2 || r.EmptyPapers[0].PaperID != "leak-a" || r.EmptyPapers[1].PaperID != "leak-b" {
		t.Errorf("empty papers = %v, want leak-a, leak-b", r.EmptyPapers)
	}
	if r.Store.Status != admin.StoreUnknown {
		t.Errorf("store status without a ping = %q, want %q", r.Store.Status, admin.StoreUnknown)
	}
}

func TestStoreDownAndSlowPingAreReported(t *testing.T) {
	l := &admin.Local{StoreKind: "redis", Ping: func(context.Context) (time.Duration, error) {
		return 0, errors.New("dial tcp 127.0.0.1:1: connection refused")
	}}
	st := l.Self(t.Context()).Store
	if st.Status != admin.StoreDown || !strings.Contains(st.Error, "connection refused") {
		t.Errorf("store = %+v, want down with the error", st)
	}

	l = &admin.Local{StoreKind: "redis", PingTimeout: 50 * time.Millisecond, Ping: func(ctx context.Context) (time.Duration, error) {
		<-ctx.Done() // a hung Redis
		return 0, ctx.Err()
	}}
	start := time.Now()
	st = l.Self(t.Context()).Store
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("a hung ping held the stats for %v", took)
	}
	if st.Status != admin.StoreDown || !strings.Contains(st.Error, "deadline") {
		t.Errorf("store = %+v, want down (deadline)", st)
	}
}

func TestPprofOnlyWhenEnabled(t *testing.T) {
	off := newEcho(token, newLocal(), false)
	for _, path := range []string{"/debug/pprof", "/debug/pprof/", "/debug/pprof/heap", "/debug/pprof/cmdline", "/debug/pprof/goroutine?debug=1"} {
		if rec := do(off, http.MethodGet, path, "Bearer "+token); rec.Code != http.StatusNotFound {
			t.Errorf("pprof off: GET %s status %d, want 404", path, rec.Code)
		}
	}

	on := newEcho(token, newLocal(), true)
	for path, want := range map[string]string{
		"/debug/pprof/":                  "goroutine",
		"/debug/pprof/goroutine?debug=1": "goroutine profile",
		"/debug/pprof/heap?debug=1":      "heap profile",
		"/debug/pprof/cmdline":           "admin.test",
		"/debug/pprof/symbol":            "num_symbols",
	} {
		rec := do(on, http.MethodGet, path, "Bearer "+token)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), want) {
			t.Errorf("pprof on: GET %s status %d, body lacks %q", path, rec.Code, want)
		}
	}
	if rec := do(on, http.MethodGet, "/debug/pprof", "Bearer "+token); rec.Code != http.StatusMovedPermanently || rec.Header().Get("Location") != "/debug/pprof/" {
		t.Errorf("GET /debug/pprof: status %d location %q, want 301 to /debug/pprof/", rec.Code, rec.Header().Get("Location"))
	}
	if rec := do(on, http.MethodGet, "/debug/pprof/profile?seconds=1", "Bearer "+token); rec.Code != http.StatusOK || rec.Body.Len() == 0 {
		t.Errorf("CPU profile: status %d, %d bytes", rec.Code, rec.Body.Len())
	}
}

func TestPageIsServedWithoutTheTokenAndLocksDownScripts(t *testing.T) {
	e := newEcho(token, newLocal(), false)
	rec := do(e, http.MethodGet, "/admin", "")
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /admin: status %d", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("content type %q", ct)
	}
	page := rec.Body.String()
	if strings.Contains(page, token) {
		t.Fatal("the page embeds the token")
	}
	// It draws the sampler's series as inline SVG, built node by node.
	for _, want := range []string{"/admin/stats", "sessionStorage", "Authorization", "Bearer ",
		"series.deliveries_per_sec", "series.fanout_p99_ms", "series.heap_bytes", "createElementNS"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// The CSP must allow exactly the page's inline script and style.
	csp := rec.Header().Get("Content-Security-Policy")
	for _, tag := range []string{"script", "style"} {
		_, rest, _ := strings.Cut(page, "<"+tag+">")
		body, _, _ := strings.Cut(rest, "</"+tag+">")
		sum := sha256.Sum256([]byte(body))
		h := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
		if !strings.Contains(csp, tag+"-src "+h) {
			t.Errorf("CSP %q does not allow the page's %s (%s)", csp, tag, h)
		}
	}
	if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "connect-src 'self'") {
		t.Errorf("CSP %q", csp)
	}
	if strings.Contains(page, "innerHTML") {
		t.Error("the page parses data as HTML (innerHTML)")
	}
}

func TestClusterViewReadsPeersWithoutRecursing(t *testing.T) {
	client := &http.Client{Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()

	// Two replicas that each list the other as a peer, plus a dead peer.
	var aURL, bURL atomic.Value
	peersOf := func(u *atomic.Value) func(context.Context) []admin.Replica {
		return func(ctx context.Context) []admin.Replica {
			return admin.HTTPPeers(client, token, []string{u.Load().(string), "http://127.0.0.1:1"})(ctx)
		}
	}
	la, lb := newLocal(), newLocal()
	lb.ID, lb.Addr = "r2", ""
	la.Peers, lb.Peers = peersOf(&bURL), peersOf(&aURL)
	srcB := &countingSource{Source: lb}
	a := httptest.NewServer(newEcho(token, la, false))
	defer a.Close()
	b := httptest.NewServer(newEcho(token, srcB, false))
	defer b.Close()
	aURL.Store(a.URL)
	bURL.Store(b.URL)

	rec := do(newEcho(token, la, false), http.MethodGet, "/admin/stats", "Bearer "+token)
	var s admin.Stats
	if err := json.Unmarshal(rec.Body.Bytes(), &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Replicas) != 3 {
		t.Fatalf("replicas = %+v, want self, r2 and the dead peer", s.Replicas)
	}
	if s.Replicas[0].ID != "r1" || !s.Replicas[0].Self {
		t.Errorf("first replica %+v, want r1 (self)", s.Replicas[0])
	}
	if r := s.Replicas[1]; r.ID != "r2" || r.Self || r.Error != "" || r.Sessions != 5 || r.Addr != b.URL {
		t.Errorf("peer = %+v, want r2, not self, no error, 5 sessions, addr %s", r, b.URL)
	}
	if r := s.Replicas[2]; r.Error == "" || r.Addr != "http://127.0.0.1:1" {
		t.Errorf("dead peer = %+v, want its address and an error", r)
	}
	if n := srcB.calls.Load(); n != 1 {
		t.Errorf("peer read %d times, want once (scope=self does not fan out again)", n)
	}

	// A peer that refuses the token is reported, not hidden.
	bad := admin.HTTPPeers(client, "wrong", []string{b.URL})(t.Context())
	if len(bad) != 1 || !strings.Contains(bad[0].Error, "403") {
		t.Errorf("peer with the wrong token = %+v, want a 403 error", bad)
	}
}

// TestErrorsUseTheRESTErrorBody: mounted on the server's echo, the admin
// routes' errors come out as the REST v1 JSON error body.
func TestErrorsUseTheRESTErrorBody(t *testing.T) {
	for _, tc := range []struct {
		tok, auth string
		status    int
		code      string
	}{
		{"", "Bearer " + token, http.StatusNotFound, "not_found"},
		{token, "", http.StatusUnauthorized, "unauthorized"},
		{token, "Bearer wrong", http.StatusForbidden, "forbidden"},
	} {
		e := rest.NewEcho(rest.Options{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
		admin.Register(e, tc.tok, newLocal(), true)
		for _, path := range []string{"/admin/stats", "/debug/pprof/heap"} {
			rec := do(e, http.MethodGet, path, tc.auth)
			var body struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			_ = json.Unmarshal(rec.Body.Bytes(), &body)
			if rec.Code != tc.status || body.Error.Code != tc.code {
				t.Errorf("token %q auth %q GET %s: %d %q, want %d %q", tc.tok, tc.auth, path, rec.Code, body.Error.Code, tc.status, tc.code)
			}
		}
	}
}

func TestTimePingMeasuresTheRoundTrip(t *testing.T) {
	boom := errors.New("boom")
	d, err := admin.TimePing(func(context.Context) error { time.Sleep(20 * time.Millisecond); return boom })(t.Context())
	if !errors.Is(err, boom) || d < 20*time.Millisecond {
		t.Errorf("TimePing = %v, %v; want >= 20ms and the error", d, err)
	}
}
