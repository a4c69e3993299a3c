package admin_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/papercast/papercast/delivery/admin"
	"github.com/papercast/papercast/metrics"
)

func TestSamplerRecordsRatesAndLatencyPerInterval(t *testing.T) {
	m := metrics.New()
	s := admin.NewSampler(m, 5*time.Second, 15*time.Second) // room for 3 points
	t0 := time.Unix(1_700_000_000, 0)
	s.Sample(t0) // the baseline, not a point
	if got := s.Series(); len(got.T) != 0 {
		t.Fatalf("the baseline recorded a point: %+v", got)
	}

	m.Sessions(3)
	m.Delivered(50)
	for range 9 {
		m.FanOut(30 * time.Microsecond) // the 25-50 us bucket
	}
	m.FanOut(200 * time.Millisecond) // the 100-250 ms bucket
	s.Sample(t0.Add(5 * time.Second))
	s.Sample(t0.Add(10 * time.Second)) // an idle interval
	m.Delivered(20)
	s.Sample(t0.Add(12 * time.Second)) // a tick that came late counts its own length

	got := s.Series()
	if got.IntervalSeconds != 5 || got.WindowSeconds != 15 {
		t.Errorf("interval %v window %v, want 5 and 15", got.IntervalSeconds, got.WindowSeconds)
	}
	wantT := []int64{t0.Add(5 * time.Second).UnixMilli(), t0.Add(10 * time.Second).UnixMilli(), t0.Add(12 * time.Second).UnixMilli()}
	if len(got.T) != 3 || got.T[0] != wantT[0] || got.T[1] != wantT[1] || got.T[2] != wantT[2] {
		t.Fatalf("t = %v, want %v", got.T, wantT)
	}
	for i, want := range []float64{10, 0, 10} {
		if got.DeliveriesPerSec[i] != want {
			t.Errorf("deliveries/s[%d] = %v, want %v", i, got.DeliveriesPerSec[i], want)
		}
	}
	if got.Sessions[0] != 3 || got.FanOutEvents[0] != 10 || got.FanOutEvents[1] != 0 {
		t.Errorf("sessions %v fan-out events %v, want 3 and 10 then 0", got.Sessions, got.FanOutEvents)
	}
	p50, p99 := got.FanOutP50MS[0], got.FanOutP99MS[0]
	if p50 == nil || p99 == nil || *p50 < 0.025 || *p50 > 0.05 || *p99 < 100 || *p99 > 250 {
		t.Errorf("fan-out p50 %v p99 %v ms, want within 0.025-0.05 and 100-250", deref(p50), deref(p99))
	}
	if got.FanOutP50MS[1] != nil || got.FanOutP99MS[1] != nil {
		t.Error("an interval with no fan-out has a latency; want null")
	}
	if got.Goroutines[0] == 0 || got.HeapBytes[0] == 0 {
		t.Errorf("goroutines %v heap %v, want the runtime's", got.Goroutines, got.HeapBytes)
	}

	// The window holds 3 points: the fourth pushes out the first.
	s.Sample(t0.Add(17 * time.Second))
	if got := s.Series(); len(got.T) != 3 || got.T[0] != wantT[1] || got.T[2] != t0.Add(17*time.Second).UnixMilli() {
		t.Errorf("after wrapping t = %v, want the last three samples", got.T)
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestStatsJSONCarriesTheSeries(t *testing.T) {
	m := metrics.New()
	s := admin.NewSampler(m, time.Second, time.Minute)
	now := time.Now()
	s.Sample(now.Add(-2 * time.Second))
	m.Sessions(4)
	m.Delivered(8)
	m.FanOut(time.Millisecond)
	s.Sample(now.Add(-time.Second))
	s.Sample(now)
	l := newLocal()
	l.Sampler = s

	rec := do(newEcho(token, l, false), http.MethodGet, "/admin/stats", "Bearer "+token)
	var body struct {
		Replicas []struct {
			Series map[string]json.RawMessage `json:"series"`
		} `json:"replicas"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || len(body.Replicas) != 1 {
		t.Fatalf("stats %s: %v", rec.Body, err)
	}
	series := body.Replicas[0].Series
	for key, want := range map[string]string{
		"interval_seconds":   "1",
		"window_seconds":     "60",
		"sessions":           "[4,4]",
		"deliveries_per_sec": "[8,0]",
		"fanout_events":      "[1,0]",
		"fanout_p99_ms":      "[0.995,null]", // 1 ms: 99% into the 0.5-1 ms bucket
	} {
		if got := string(series[key]); got != want {
			t.Errorf("series.%s = %s, want %s", key, got, want)
		}
	}
	for _, key := range []string{"t", "fanout_p50_ms", "goroutines", "heap_bytes"} {
		var v []any
		if err := json.Unmarshal(series[key], &v); err != nil || len(v) != 2 {
			t.Errorf("series.%s = %s, want two points", key, series[key])
		}
	}

	// Without a sampler there is no series (a peer running an older build
	// reads the same).
	rec = do(newEcho(token, newLocal(), false), http.MethodGet, "/admin/stats", "Bearer "+token)
	var plain map[string][]map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &plain)
	if _, ok := plain["replicas"][0]["series"]; ok {
		t.Error("series present without a sampler")
	}
}

func TestSamplerStopsOnClose(t *testing.T) {
	before := goleak.IgnoreCurrent()
	m := metrics.New()
	s := admin.NewSampler(m, time.Millisecond, time.Second)
	s.Start()
	deadline := time.Now().Add(5 * time.Second)
	for len(s.Series().T) < 3 {
		if time.Now().After(deadline) {
			t.Fatal("the sampler recorded nothing in 5 s at a 1 ms interval")
		}
		time.Sleep(time.Millisecond)
	}
	s.Close()
	s.Close() // twice is fine
	goleak.VerifyNone(t, before)
	n := len(s.Series().T)
	time.Sleep(20 * time.Millisecond)
	if len(s.Series().T) != n {
		t.Error("the sampler went on after Close")
	}

	// Closed before it started: Start does nothing afterwards.
	idle := admin.NewSampler(m, time.Millisecond, time.Second)
	idle.Close()
	idle.Start()
	goleak.VerifyNone(t, before)
}
