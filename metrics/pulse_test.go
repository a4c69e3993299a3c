package metrics_test

import (
	"math"
	"testing"
	"time"

	"github.com/papercast/papercast/metrics"
)

func TestPulseReadsTheSeries(t *testing.T) {
	m := metrics.New()
	exercise(m)
	p := m.Pulse()
	if p.Sessions != 2 || p.Deliveries != 15 {
		t.Errorf("pulse sessions %d deliveries %d, want 2 and 15", p.Sessions, p.Deliveries)
	}
	if p.FanOut.Count != 2 || len(p.FanOut.Bounds) == 0 || len(p.FanOut.Bounds) != len(p.FanOut.Counts) {
		t.Fatalf("fan-out histogram = %+v, want 2 observations over its buckets", p.FanOut)
	}
	if last := p.FanOut.Counts[len(p.FanOut.Counts)-1]; last != 2 {
		t.Errorf("cumulative count at the last finite bound = %d, want 2", last)
	}

	m.FanOut(time.Second / 2)
	d := m.Pulse().FanOut.Sub(p.FanOut)
	if d.Count != 1 || d.Counts[0] != 0 || d.Counts[len(d.Counts)-1] != 1 {
		t.Errorf("difference = %+v, want the one new observation", d)
	}
}

func TestHistogramQuantile(t *testing.T) {
	h := func(counts ...uint64) metrics.Histogram {
		// Bounds 1, 2, 4; the last count is the total (+Inf).
		return metrics.Histogram{Bounds: []float64{1, 2, 4}, Counts: counts[:3], Count: counts[3]}
	}
	for _, tc := range []struct {
		name string
		h    metrics.Histogram
		q    float64
		want float64
		ok   bool
	}{
		{"empty", h(0, 0, 0, 0), 0.5, 0, false},
		{"no buckets", metrics.Histogram{Count: 3}, 0.5, 0, false},
		{"all in the first bucket, median", h(10, 10, 10, 10), 0.5, 0.5, true},
		{"all in the first bucket, p99", h(10, 10, 10, 10), 0.99, 0.99, true},
		{"interpolated in the second bucket", h(0, 4, 4, 4), 0.5, 1.5, true},
		{"third bucket", h(2, 2, 4, 4), 0.75, 3, true},
		{"in +Inf: the highest finite bound", h(0, 0, 1, 10), 0.99, 4, true},
		{"exactly at a bound", h(5, 10, 10, 10), 0.5, 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tc.h.Quantile(tc.q)
			if ok != tc.ok || math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("Quantile(%v) = %v, %v; want %v, %v", tc.q, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestHistogramSub(t *testing.T) {
	a := metrics.Histogram{Bounds: []float64{1, 2}, Counts: []uint64{1, 3}, Count: 4, Sum: 5}
	b := metrics.Histogram{Bounds: []float64{1, 2}, Counts: []uint64{3, 6}, Count: 9, Sum: 12}
	d := b.Sub(a)
	if d.Counts[0] != 2 || d.Counts[1] != 3 || d.Count != 5 || d.Sum != 7 {
		t.Errorf("b - a = %+v, want counts [2 3], count 5, sum 7", d)
	}
	if b.Counts[0] != 3 {
		t.Error("Sub changed its receiver")
	}
	if d := b.Sub(metrics.Histogram{}); d.Count != 9 || d.Counts[1] != 6 {
		t.Errorf("b - nothing = %+v, want b", d)
	}
}
