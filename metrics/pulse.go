package metrics

import (
	"math"

	dto "github.com/prometheus/client_model/go"
)

// Pulse is the few figures the admin page samples over time. It is cheap to
// read (no map, one histogram copy), so a sampler can take it every few
// seconds for the life of the process.
type Pulse struct {
	// Sessions is papercast_sessions.
	Sessions int64
	// Deliveries is papercast_deliveries_total.
	Deliveries uint64
	// FanOut is papercast_fanout_duration_seconds.
	FanOut Histogram
}

// Pulse reads the figures now, from the Prometheus series themselves.
func (m *Metrics) Pulse() Pulse {
	return Pulse{
		Sessions:   int64(value(m.sessions)),
		Deliveries: uint64(value(m.deliveries)),
		FanOut:     histogramOf(m.fanOut),
	}
}

// Histogram is a cumulative histogram as Prometheus keeps it: Counts[i]
// observations were at most Bounds[i] (seconds), Count in all.
type Histogram struct {
	Bounds []float64
	Counts []uint64
	Count  uint64
	Sum    float64
}

func histogramOf(h interface{ Write(*dto.Metric) error }) Histogram {
	var d dto.Metric
	if err := h.Write(&d); err != nil || d.Histogram == nil {
		return Histogram{}
	}
	out := Histogram{Count: d.Histogram.GetSampleCount(), Sum: d.Histogram.GetSampleSum()}
	for _, b := range d.Histogram.GetBucket() {
		if math.IsInf(b.GetUpperBound(), 1) {
			continue
		}
		out.Bounds = append(out.Bounds, b.GetUpperBound())
		out.Counts = append(out.Counts, b.GetCumulativeCount())
	}
	return out
}

// Sub is what was observed between prev and h (h taken later from the same
// histogram). A prev with other bounds (or none) counts as empty.
func (h Histogram) Sub(prev Histogram) Histogram {
	out := Histogram{Bounds: h.Bounds, Counts: make([]uint64, len(h.Counts)), Count: h.Count, Sum: h.Sum}
	copy(out.Counts, h.Counts)
	if len(prev.Counts) != len(h.Counts) {
		return out
	}
	for i := range out.Counts {
		out.Counts[i] -= min(out.Counts[i], prev.Counts[i])
	}
	out.Count -= min(out.Count, prev.Count)
	out.Sum -= prev.Sum
	return out
}

// Quantile estimates the q-th quantile (0 < q <= 1) the way PromQL's
// histogram_quantile does: linear within the bucket holding it, the highest
// finite bound when it falls in the +Inf bucket. ok is false for an empty
// histogram.
func (h Histogram) Quantile(q float64) (v float64, ok bool) {
	if h.Count == 0 || len(h.Bounds) == 0 {
		return 0, false
	}
	rank := q * float64(h.Count)
	var lower float64
	var below uint64
	for i, upper := range h.Bounds {
		if float64(h.Counts[i]) >= rank {
			in := h.Counts[i] - below
			if in == 0 {
				return upper, true
			}
			return lower + (upper-lower)*(rank-float64(below))/float64(in), true
		}
		lower, below = upper, h.Counts[i]
	}
	return h.Bounds[len(h.Bounds)-1], true
}
