package metrics_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/papercast/papercast/metrics"
	"github.com/papercast/papercast/protocol"
	"github.com/papercast/papercast/usecase"
)

// The interfaces the hub and the Redis layer consume; ws.Metrics is checked
// the same way with a local copy so this package does not import delivery/ws.
var (
	_ usecase.HubMetrics = (*metrics.Metrics)(nil)
	_ interface {
		Frame(kind, result string)
		SlowConsumerClosed()
		Sessions(delta int)
	} = (*metrics.Metrics)(nil)
)

func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: status %d", rec.Code)
	}
	b, err := io.ReadAll(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func exercise(m *metrics.Metrics) {
	m.Sessions(1)
	m.Sessions(1)
	m.Sessions(1)
	m.Sessions(-1)
	m.SetActivePapers(func() float64 { return 3 })
	m.Frame("upsert", "ok")
	m.Frame("upsert", "ok")
	m.Frame("delete", "not_found")
	m.Frame("presence", "rate_limited")
	m.Frame("presence", "abuse")
	m.Frame("frame", "invalid")
	m.Frame("binary", "unsupported")
	m.Delivered(10)
	m.Delivered(0)
	m.Delivered(5)
	m.FanOut(30 * time.Microsecond)
	m.FanOut(2 * time.Millisecond)
	m.SendBufferOverflow()
	m.SendBufferOverflow()
	m.SlowConsumerClosed()
	m.ObserveRedis("fcall", 300*time.Microsecond, nil)
	m.ObserveRedis("fcall", 2*time.Millisecond, errors.New("boom"))
	m.ObserveRedis("publish", 100*time.Microsecond, nil)
	m.Resubscribed()
	m.JoinDuration(3*time.Millisecond, false)
	m.JoinDuration(40*time.Millisecond, true)
	m.Resynced("paper-a")
	m.Resynced("paper-b")
}

func TestEveryMetricIsExposedWithItsLabels(t *testing.T) {
	m := metrics.New()
	exercise(m)
	out := scrape(t, m)
	for _, want := range []string{
		"papercast_sessions 2",
		"papercast_active_papers 3",
		`papercast_ops_total{result="ok",type="upsert"} 2`,
		`papercast_ops_total{result="not_found",type="delete"} 1`,
		`papercast_ops_total{result="rate_limited",type="presence"} 1`,
		`papercast_ops_total{result="abuse",type="presence"} 1`,
		`papercast_ops_total{result="invalid",type="frame"} 1`,
		`papercast_ops_total{result="unsupported",type="binary"} 1`,
		"papercast_deliveries_total 15",
		"papercast_fanout_duration_seconds_count 2",
		`papercast_fanout_duration_seconds_bucket{le="5e-05"} 1`,
		"papercast_send_buffer_overflows_total 2",
		"papercast_slow_consumer_closes_total 1",
		`papercast_redis_command_duration_seconds_count{command="fcall"} 2`,
		`papercast_redis_command_duration_seconds_bucket{command="fcall",le="0.0005"} 1`,
		`papercast_redis_command_duration_seconds_count{command="publish"} 1`,
		`papercast_redis_command_errors_total{command="fcall"} 1`,
		"papercast_pubsub_resubscribes_total 1",
		`papercast_join_duration_seconds_count{resumed="false"} 1`,
		`papercast_join_duration_seconds_count{resumed="true"} 1`,
		"papercast_resyncs_total 2",
		// The runtime and process collectors.
		"go_goroutines ",
		"go_memstats_heap_alloc_bytes ",
		"process_resident_memory_bytes ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(out, "paper-a") {
		t.Error("a paper id leaked into a label: papers are unbounded, series must not be")
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "#") || line == "" ||
			strings.HasPrefix(line, "go_") || strings.HasPrefix(line, "process_") {
			continue
		}
		if !strings.HasPrefix(line, "papercast_") {
			t.Errorf("metric without the papercast_ prefix: %q", line)
		}
	}
}

func TestMetricsPassPromlint(t *testing.T) {
	m := metrics.New()
	exercise(m)
	problems, err := testutil.GatherAndLint(m.Registry())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "papercast_") {
			t.Errorf("lint %s: %s", p.Metric, p.Text)
		}
	}
}

func TestSeriesAreResolvedUpFront(t *testing.T) {
	m := metrics.New()
	// Before anything happened every ops series already exists at 0, so
	// rate() works from the first scrape and the hot path never creates one.
	n, err := testutil.GatherAndCount(m.Registry(), "papercast_ops_total")
	if err != nil {
		t.Fatal(err)
	}
	if want := len(metrics.Kinds) * len(metrics.Results); n != want {
		t.Errorf("papercast_ops_total series = %d, want %d", n, want)
	}
	if n, _ := testutil.GatherAndCount(m.Registry(), "papercast_join_duration_seconds"); n != 2 {
		t.Errorf("papercast_join_duration_seconds series = %d, want 2", n)
	}
}

func TestUnknownLabelValuesAreBounded(t *testing.T) {
	m := metrics.New()
	before, _ := testutil.GatherAndCount(m.Registry(), "papercast_ops_total")
	m.Frame("something-new", "weird-code")
	after, _ := testutil.GatherAndCount(m.Registry(), "papercast_ops_total")
	if after != before {
		t.Errorf("an unknown kind/result added series: %d -> %d", before, after)
	}
	if !strings.Contains(scrape(t, m), `papercast_ops_total{result="other",type="other"} 1`) {
		t.Error("unknown kind/result not counted as other/other")
	}

	for i := range 3 * metrics.MaxRedisCommands {
		m.ObserveRedis(fmt.Sprintf("cmd%d", i), time.Millisecond, errors.New("x"))
	}
	n, _ := testutil.GatherAndCount(m.Registry(), "papercast_redis_command_errors_total")
	if n != metrics.MaxRedisCommands+1 {
		t.Errorf("redis command series = %d, want %d (the cap plus other)", n, metrics.MaxRedisCommands+1)
	}
	if got := m.Snapshot().RedisErrors[metrics.Other]; got != uint64(2*metrics.MaxRedisCommands) {
		t.Errorf("redis errors under other = %d, want %d", got, 2*metrics.MaxRedisCommands)
	}
}

func TestSnapshotAgreesWithTheSeries(t *testing.T) {
	m := metrics.New()
	exercise(m)
	c := m.Snapshot()
	check := func(name string, got, want uint64) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %d, want %d", name, got, want)
		}
	}
	if c.Sessions != 2 {
		t.Errorf("sessions = %d, want 2", c.Sessions)
	}
	check("deliveries", c.Deliveries, 15)
	check("overflows", c.SendBufferOverflows, 2)
	check("slow closes", c.SlowConsumerCloses, 1)
	check("resyncs", c.Resyncs, 2)
	check("resubscribes", c.Resubscribes, 1)
	check("ops ok upsert", c.OpsOK["upsert"], 2)
	check("errors not_found", c.ErrorsByCode["not_found"], 1)
	check("errors rate_limited", c.ErrorsByCode["rate_limited"], 1)
	check("errors abuse", c.ErrorsByCode["abuse"], 1)
	check("errors invalid", c.ErrorsByCode["invalid"], 1)
	check("errors unsupported", c.ErrorsByCode["unsupported"], 1)
	check("redis errors fcall", c.RedisErrors["fcall"], 1)
	if _, ok := c.ErrorsByCode["ok"]; ok {
		t.Error("ok counted as an error code")
	}
	if len(c.ErrorsByCode) != 5 {
		t.Errorf("errors by code = %v, want only the 5 codes seen", c.ErrorsByCode)
	}
	if _, ok := c.RedisErrors["publish"]; ok {
		t.Error("a command without errors listed in redis errors")
	}
}

func TestActivePapersIsReadAtScrapeTime(t *testing.T) {
	m := metrics.New()
	if !strings.Contains(scrape(t, m), "papercast_active_papers 0\n") {
		t.Error("active papers before SetActivePapers is not 0")
	}
	var mu sync.Mutex
	rooms := 7
	m.SetActivePapers(func() float64 { mu.Lock(); defer mu.Unlock(); return float64(rooms) })
	if !strings.Contains(scrape(t, m), "papercast_active_papers 7\n") {
		t.Error("active papers not read from the func")
	}
	mu.Lock()
	rooms = 2
	mu.Unlock()
	if !strings.Contains(scrape(t, m), "papercast_active_papers 2\n") {
		t.Error("active papers not re-read on the next scrape")
	}
	m.SetActivePapers(nil)
	if !strings.Contains(scrape(t, m), "papercast_active_papers 0\n") {
		t.Error("SetActivePapers(nil) does not reset to 0")
	}
}

func TestTwoInstancesDoNotShareARegistry(t *testing.T) {
	a, b := metrics.New(), metrics.New()
	a.Delivered(4)
	if strings.Contains(scrape(t, b), "papercast_deliveries_total 4") {
		t.Error("a second Metrics sees the first one's counts")
	}
}

func TestHotPathDoesNotAllocate(t *testing.T) {
	m := metrics.New()
	m.ObserveRedis("fcall", time.Millisecond, nil) // resolve the command once
	err := errors.New("boom")
	for name, f := range map[string]func(){
		"Delivered":          func() { m.Delivered(50) },
		"FanOut":             func() { m.FanOut(time.Microsecond) },
		"Frame":              func() { m.Frame("upsert", "ok") },
		"FrameError":         func() { m.Frame("delete", "finalized") },
		"FrameUnknown":       func() { m.Frame("nope", "nope") },
		"Sessions":           func() { m.Sessions(1) },
		"JoinDuration":       func() { m.JoinDuration(time.Millisecond, true) },
		"Resynced":           func() { m.Resynced("paper") },
		"SlowConsumerClosed": func() { m.SlowConsumerClosed() },
		"SendBufferOverflow": func() { m.SendBufferOverflow() },
		"ObserveRedis":       func() { m.ObserveRedis("fcall", time.Millisecond, err) },
		"Resubscribed":       func() { m.Resubscribed() },
	} {
		if n := testing.AllocsPerRun(1000, f); n != 0 {
			t.Errorf("%s allocates %.1f times per call, want 0", name, n)
		}
	}
}

func TestConcurrentUseWithScrapes(t *testing.T) {
	m := metrics.New()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				m.Frame(metrics.Kinds[i%len(metrics.Kinds)], metrics.Results[(i+g)%len(metrics.Results)])
				m.Delivered(3)
				m.Sessions(1)
				m.Sessions(-1)
				m.ObserveRedis(fmt.Sprintf("c%d", i%40), time.Microsecond, nil)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 20 {
			_ = m.Snapshot()
			_ = scrape(t, m)
		}
	}()
	wg.Wait()
	c := m.Snapshot()
	if c.Deliveries != 8*500*3 {
		t.Errorf("deliveries = %d, want %d", c.Deliveries, 8*500*3)
	}
	if c.Sessions != 0 {
		t.Errorf("sessions = %d, want 0", c.Sessions)
	}
	var ok, errs uint64
	for _, n := range c.OpsOK {
		ok += n
	}
	for _, n := range c.ErrorsByCode {
		errs += n
	}
	if ok+errs != 8*500 {
		t.Errorf("ops counted = %d, want %d", ok+errs, 8*500)
	}
}

func BenchmarkDelivered(b *testing.B) {
	m := metrics.New()
	b.ReportAllocs()
	for b.Loop() {
		m.Delivered(10)
	}
}

func BenchmarkFrame(b *testing.B) {
	m := metrics.New()
	b.ReportAllocs()
	for b.Loop() {
		m.Frame("upsert", "ok")
	}
}

// TestEveryProtocolKindAndCodeHasItsOwnSeries: the labels come from
// protocol's lists, so every client frame kind and every error frame code
// (overloaded and full included) is counted under its own name, never other.
func TestEveryProtocolKindAndCodeHasItsOwnSeries(t *testing.T) {
	m := metrics.New()
	for _, kind := range protocol.FrameKinds() {
		for _, code := range protocol.FrameCodes() {
			m.Frame(kind, code)
			want := fmt.Sprintf(`papercast_ops_total{result=%q,type=%q} 1`, code, kind)
			if !strings.Contains(scrape(t, m), want) {
				t.Errorf("Frame(%q, %q) is not counted as %s", kind, code, want)
			}
		}
	}
	if strings.Contains(scrape(t, m), `papercast_ops_total{result="other",type="other"} 1`) {
		t.Error("a protocol label was counted as other")
	}
}
