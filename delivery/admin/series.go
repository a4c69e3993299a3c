package admin

import (
	"sync"
	"time"

	"github.com/papercast/papercast/metrics"
)

// Sampling defaults: one point every 5 s over 15 minutes is 180 points, a
// few KB of JSON per replica and poll.
const (
	DefaultSampleInterval = 5 * time.Second
	DefaultSampleWindow   = 15 * time.Minute
)

// PulseReader is the part of metrics.Metrics the sampler reads.
type PulseReader interface {
	Pulse() metrics.Pulse
}

// Series is the recent past of one replica, one point per sample interval,
// oldest first, one array per figure (the page draws each as a line).
type Series struct {
	IntervalSeconds float64 `json:"interval_seconds"`
	WindowSeconds   float64 `json:"window_seconds"`
	// T is when each point was taken, in Unix milliseconds.
	T        []int64 `json:"t"`
	Sessions []int64 `json:"sessions"`
	// DeliveriesPerSec is the rate over the interval ending at the point.
	DeliveriesPerSec []float64 `json:"deliveries_per_sec"`
	// FanOutEvents counts the events fanned out in the interval;
	// FanOutP50MS and FanOutP99MS are their latency quantiles (arrival at
	// the room to hand-off, estimated from the histogram's buckets), null
	// when no event was fanned out.
	FanOutEvents []uint64   `json:"fanout_events"`
	FanOutP50MS  []*float64 `json:"fanout_p50_ms"`
	FanOutP99MS  []*float64 `json:"fanout_p99_ms"`
	Goroutines   []uint64   `json:"goroutines"`
	HeapBytes    []uint64   `json:"heap_bytes"`
}

// point is one sample.
type point struct {
	t                time.Time
	sessions         int64
	deliveriesPerSec float64
	fanOutEvents     uint64
	fanOutP50        float64 // seconds, valid when fanOutEvents > 0
	fanOutP99        float64
	goroutines       uint64
	heapBytes        uint64
}

// ring keeps the last cap(buf) values pushed.
type ring[T any] struct {
	buf  []T
	next int // where the next push goes
	full bool
}

func newRing[T any](n int) *ring[T] { return &ring[T]{buf: make([]T, max(1, n))} }

func (r *ring[T]) push(v T) {
	r.buf[r.next] = v
	r.next++
	if r.next == len(r.buf) {
		r.next, r.full = 0, true
	}
}

// items copies the values out, oldest first.
func (r *ring[T]) items() []T {
	if !r.full {
		return append([]T(nil), r.buf[:r.next]...)
	}
	out := make([]T, 0, len(r.buf))
	out = append(out, r.buf[r.next:]...)
	return append(out, r.buf[:r.next]...)
}

// Sampler records this replica's sessions, deliveries/s, fan-out latency,
// goroutines and heap every interval into a fixed ring covering the window.
// Its one goroutine runs from Start to Close.
type Sampler struct {
	pulse    PulseReader
	interval time.Duration
	window   time.Duration

	mu     sync.Mutex
	points *ring[point]
	prev   metrics.Pulse // at prevT; zero until the baseline is taken
	prevT  time.Time

	start, close sync.Once
	stop         chan struct{}
	done         chan struct{}
}

// NewSampler builds a sampler over p; interval and window default to
// DefaultSampleInterval and DefaultSampleWindow when not positive.
func NewSampler(p PulseReader, interval, window time.Duration) *Sampler {
	interval = orDefault(interval, DefaultSampleInterval)
	window = max(orDefault(window, DefaultSampleWindow), interval)
	return &Sampler{
		pulse: p, interval: interval, window: window,
		points: newRing[point](int(window / interval)),
		stop:   make(chan struct{}), done: make(chan struct{}),
	}
}

// Start takes the baseline and samples every interval until Close. Calls
// after the first do nothing.
func (s *Sampler) Start() {
	s.start.Do(func() {
		s.Sample(time.Now())
		go s.run()
	})
}

func (s *Sampler) run() {
	defer close(s.done)
	tick := time.NewTicker(s.interval)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case now := <-tick.C:
			s.Sample(now)
		}
	}
}

// Close stops the sampling goroutine and waits for it. It is safe to call
// more than once, and without Start.
func (s *Sampler) Close() {
	s.close.Do(func() {
		close(s.stop)
		started := true
		s.start.Do(func() { started = false }) // a later Start does nothing
		if started {
			<-s.done
		}
	})
}

// Sample reads the figures at now. The first call only takes the baseline
// the rates of the next point are measured from; every later one records a
// point. The sampling goroutine calls it; tests may call it directly.
func (s *Sampler) Sample(now time.Time) {
	p := s.pulse.Pulse()
	goroutines, heap := readGoroutinesAndHeap()
	s.mu.Lock()
	defer s.mu.Unlock()
	prev, prevT := s.prev, s.prevT
	s.prev, s.prevT = p, now
	if prevT.IsZero() {
		return
	}
	pt := point{t: now, sessions: p.Sessions, goroutines: goroutines, heapBytes: heap}
	if el := now.Sub(prevT).Seconds(); el > 0 && p.Deliveries >= prev.Deliveries {
		pt.deliveriesPerSec = float64(p.Deliveries-prev.Deliveries) / el
	}
	fan := p.FanOut.Sub(prev.FanOut)
	pt.fanOutEvents = fan.Count
	pt.fanOutP50, _ = fan.Quantile(0.5)
	pt.fanOutP99, _ = fan.Quantile(0.99)
	s.points.push(pt)
}

// Series copies out the points recorded so far, oldest first.
func (s *Sampler) Series() Series {
	s.mu.Lock()
	pts := s.points.items()
	s.mu.Unlock()
	out := Series{
		IntervalSeconds:  s.interval.Seconds(),
		WindowSeconds:    s.window.Seconds(),
		T:                make([]int64, len(pts)),
		Sessions:         make([]int64, len(pts)),
		DeliveriesPerSec: make([]float64, len(pts)),
		FanOutEvents:     make([]uint64, len(pts)),
		FanOutP50MS:      make([]*float64, len(pts)),
		FanOutP99MS:      make([]*float64, len(pts)),
		Goroutines:       make([]uint64, len(pts)),
		HeapBytes:        make([]uint64, len(pts)),
	}
	for i, p := range pts {
		out.T[i] = p.t.UnixMilli()
		out.Sessions[i] = p.sessions
		out.DeliveriesPerSec[i] = p.deliveriesPerSec
		out.FanOutEvents[i] = p.fanOutEvents
		if p.fanOutEvents > 0 {
			p50, p99 := p.fanOutP50*1e3, p.fanOutP99*1e3
			out.FanOutP50MS[i], out.FanOutP99MS[i] = &p50, &p99
		}
		out.Goroutines[i] = p.goroutines
		out.HeapBytes[i] = p.heapBytes
	}
	return out
}
