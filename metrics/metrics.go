// Package metrics is papercast's Prometheus instrumentation. One Metrics
// value owns its own registry (never the global default one, so two replicas
// in one test process do not collide), satisfies the hub's and the WebSocket
// delivery's metric interfaces, and keeps the counts the admin page shows.
//
// The hot-path methods (Delivered, FanOut, Frame, Sessions, JoinDuration,
// ObserveRedis for a known command) do not allocate: every label combination they can use
// is resolved once, in New, and looked up by index afterwards.
package metrics

import (
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"

	"github.com/papercast/papercast/protocol"
)

// Namespace prefixes every project metric.
const Namespace = "papercast"

// Other is the label value a kind, result or command outside the known set
// is counted under, so a bug or a hostile client cannot grow the number of
// series without bound.
const Other = "other"

// ResultOK is the result label of a frame that succeeded.
const ResultOK = "ok"

// ResultAbuse is the result label of a frame that closed its session for
// repeated rate-limit strikes.
const ResultAbuse = "abuse"

// Kinds are the type label values of papercast_ops_total: every client
// frame type and the labels of frames without one (protocol.FrameKinds: a
// new op kind is counted under its own name without a change here), and
// Other.
var Kinds = append(protocol.FrameKinds(), Other)

// Results are the result label values of papercast_ops_total: ok, every
// error code of the error frame (protocol.FrameCodes), abuse, and Other.
var Results = append(append([]string{ResultOK}, protocol.FrameCodes()...), ResultAbuse, Other)

// kindIndex and resultIndex find a label's series without allocating.
var kindIndex, resultIndex = indexOf(Kinds), indexOf(Results)

// indexOf maps each label to its position; anything else maps to the last
// position, Other.
func indexOf(labels []string) func(string) int {
	pos := make(map[string]int, len(labels))
	for i, l := range labels {
		pos[l] = i
	}
	return func(label string) int {
		if i, ok := pos[label]; ok {
			return i
		}
		return len(labels) - 1
	}
}

// MaxRedisCommands bounds the distinct command labels of the Redis metrics;
// commands beyond it are counted as Other.
const MaxRedisCommands = 32

// Histogram buckets, in seconds. Redis round trips on a LAN are sub-ms, a
// join is a store read plus a snapshot write.
var (
	redisBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}
	joinBuckets  = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
	// A fan-out is a lock and one channel send per session: microseconds,
	// unless the room's lock is contended.
	fanOutBuckets = []float64{.00001, .000025, .00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1}
)

// Metrics is one replica's instrumentation. Build it with New; all methods
// are safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	sessions     prometheus.Gauge
	activePapers atomic.Pointer[func() float64]
	ops          [][]prometheus.Counter // [kind][result], see Kinds and Results
	deliveries   prometheus.Counter
	fanOut       prometheus.Histogram
	overflows    prometheus.Counter
	slowCloses   prometheus.Counter
	resubscribes prometheus.Counter
	resyncs      prometheus.Counter
	join         [2]prometheus.Observer // [fresh, resumed]

	archiveBacklog  prometheus.Gauge
	archived        prometheus.Counter
	archiveFailures prometheus.Counter

	redisDuration *prometheus.HistogramVec
	redisErrors   *prometheus.CounterVec
	redisMu       sync.RWMutex
	redis         map[string]redisChild
}

type redisChild struct {
	duration prometheus.Observer
	errors   prometheus.Counter
}

// New builds the metrics and their registry, with the Go runtime and process
// collectors registered beside the project's own.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), redis: make(map[string]redisChild)}
	none := func() float64 { return 0 }
	m.activePapers.Store(&none)

	m.sessions = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "sessions",
		Help: "WebSocket sessions open on this replica.",
	})
	activePapers := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "active_papers",
		Help: "Papers with at least one live session on this replica.",
	}, func() float64 { return (*m.activePapers.Load())() })
	ops := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "ops_total",
		Help: "Client frames handled, by type (upsert, delete, presence, frame, binary) and result (ok, an error code, or abuse).",
	}, []string{"type", "result"})
	m.deliveries = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: Namespace, Name: "deliveries_total",
		Help: "Event frames queued to local sessions (one per receiver).",
	})
	m.fanOut = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: Namespace, Name: "fanout_duration_seconds",
		Help:    "Time from an event's arrival at its paper's room to its hand-off to every local session (presence a busy room holds back is not counted).",
		Buckets: fanOutBuckets,
	})
	m.overflows = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: Namespace, Name: "send_buffer_overflows_total",
		Help: "Frames dropped because a session's send buffer was full.",
	})
	m.slowCloses = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: Namespace, Name: "slow_consumer_closes_total",
		Help: "Sessions closed (4008) for not reading fast enough.",
	})
	m.redisDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace, Name: "redis_command_duration_seconds",
		Help:    "Redis command latency as seen by this replica, by command.",
		Buckets: redisBuckets,
	}, []string{"command"})
	m.redisErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "redis_command_errors_total",
		Help: "Redis commands that returned an error (not counting nil replies), by command.",
	}, []string{"command"})
	m.resubscribes = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: Namespace, Name: "pubsub_resubscribes_total",
		Help: "Pub/sub resubscriptions after the subscriber lost its connection (events published in the gap are recovered by resync).",
	})
	join := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace, Name: "join_duration_seconds",
		Help:    "Time from a join request to the session going live, by whether it resumed.",
		Buckets: joinBuckets,
	}, []string{"resumed"})
	m.resyncs = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: Namespace, Name: "resyncs_total",
		Help: "Rooms that recovered from a bus gap by resyncing their sessions.",
	})

	m.archiveBacklog = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "archive_backlog",
		Help: "Finalized papers waiting to be archived, as this replica's archiver last counted them (shared by every replica).",
	})
	m.archived = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: Namespace, Name: "archived_total",
		Help: "Papers this replica's archiver wrote to the archive, read back and released from the store.",
	})
	m.archiveFailures = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: Namespace, Name: "archive_failures_total",
		Help: "Failed archiver steps (a claim, or one paper's write, read-back or release); the paper is retried after its lease.",
	})

	m.ops = make([][]prometheus.Counter, len(Kinds))
	for k, kind := range Kinds {
		m.ops[k] = make([]prometheus.Counter, len(Results))
		for r, result := range Results {
			m.ops[k][r] = ops.WithLabelValues(kind, result)
		}
	}
	m.join[0] = join.WithLabelValues("false")
	m.join[1] = join.WithLabelValues("true")

	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.sessions, activePapers, ops, m.deliveries, m.fanOut, m.overflows, m.slowCloses,
		m.redisDuration, m.redisErrors, m.resubscribes, join, m.resyncs,
		m.archiveBacklog, m.archived, m.archiveFailures,
	)
	return m
}

// Registry is the registry the metrics live in, for tests and for adding
// collectors of other components.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		// A collector failing (say /proc unreadable) must not hide the rest.
		ErrorHandling: promhttp.ContinueOnError,
	})
}

// ArchiveBacklog sets papercast_archive_backlog (usecase.ArchiverMetrics).
func (m *Metrics) ArchiveBacklog(n int) { m.archiveBacklog.Set(float64(n)) }

// Archived counts one paper archived.
func (m *Metrics) Archived() { m.archived.Inc() }

// ArchiveFailed counts one failed archiver step.
func (m *Metrics) ArchiveFailed() { m.archiveFailures.Inc() }

// SetActivePapers sets the function papercast_active_papers reads at scrape
// time (e.g. the number of rooms of the hub). It runs on the scraping
// goroutine, so it must be safe for concurrent use. nil resets it to 0.
func (m *Metrics) SetActivePapers(f func() float64) {
	if f == nil {
		f = func() float64 { return 0 }
	}
	m.activePapers.Store(&f)
}

// Delivered counts n frames queued to local sessions for one event
// (usecase.HubMetrics).
func (m *Metrics) Delivered(n int) {
	if n > 0 {
		m.deliveries.Add(float64(n))
	}
}

// FanOut observes how long one event took from its arrival at the room to
// its hand-off to the room's sessions (usecase.HubMetrics).
func (m *Metrics) FanOut(d time.Duration) { m.fanOut.Observe(d.Seconds()) }

// JoinDuration observes how long a join took (usecase.HubMetrics).
func (m *Metrics) JoinDuration(d time.Duration, resumed bool) {
	i := 0
	if resumed {
		i = 1
	}
	m.join[i].Observe(d.Seconds())
}

// Resynced counts a room resync (usecase.HubMetrics). The paper id is
// deliberately not a label: papers are unbounded, series must not be.
func (m *Metrics) Resynced(string) { m.resyncs.Inc() }

// Frame counts one client frame by kind and result (ws.Metrics). Kinds and
// results outside Kinds and Results are counted as Other.
func (m *Metrics) Frame(kind, result string) {
	m.ops[kindIndex(kind)][resultIndex(result)].Inc()
}

// SlowConsumerClosed counts a session closed for being too slow (ws.Metrics).
func (m *Metrics) SlowConsumerClosed() { m.slowCloses.Inc() }

// SendBufferOverflow counts one frame dropped on a full send buffer.
func (m *Metrics) SendBufferOverflow() { m.overflows.Inc() }

// Sessions moves the open-session gauge by delta (ws.Metrics).
func (m *Metrics) Sessions(delta int) { m.sessions.Add(float64(delta)) }

// Resubscribed counts a pub/sub resubscription: the Redis layer calls it when
// its subscriber reconnected and subscribed again (not on the first
// subscription of a channel).
func (m *Metrics) Resubscribed() { m.resubscribes.Inc() }

// ObserveRedis records one Redis command's latency, and its error if any.
// The caller decides what counts as an error (a nil reply is not one).
func (m *Metrics) ObserveRedis(command string, d time.Duration, err error) {
	c := m.redisChild(command)
	c.duration.Observe(d.Seconds())
	if err != nil {
		c.errors.Inc()
	}
}

// redisChild returns the cached series of a command, creating them on first
// use. Past MaxRedisCommands distinct commands new ones share Other.
func (m *Metrics) redisChild(command string) redisChild {
	m.redisMu.RLock()
	c, ok := m.redis[command]
	m.redisMu.RUnlock()
	if ok {
		return c
	}
	m.redisMu.Lock()
	defer m.redisMu.Unlock()
	if c, ok := m.redis[command]; ok {
		return c
	}
	label := command
	if len(m.redis) >= MaxRedisCommands {
		if c, ok := m.redis[Other]; ok {
			return c
		}
		label = Other
	}
	c = redisChild{
		duration: m.redisDuration.WithLabelValues(label),
		errors:   m.redisErrors.WithLabelValues(label),
	}
	m.redis[label] = c
	return c
}

// Counts is a point-in-time copy of the counters the admin page shows.
type Counts struct {
	Sessions            int64  `json:"sessions"`
	Deliveries          uint64 `json:"deliveries"`
	SendBufferOverflows uint64 `json:"send_buffer_overflows"`
	SlowConsumerCloses  uint64 `json:"slow_consumer_closes"`
	Resyncs             uint64 `json:"resyncs"`
	Resubscribes        uint64 `json:"pubsub_resubscribes"`
	// OpsOK counts the frames that succeeded, by type.
	OpsOK map[string]uint64 `json:"ops_ok"`
	// ErrorsByCode counts failed frames by result (error code or abuse),
	// summed over types. Codes never seen are absent.
	ErrorsByCode map[string]uint64 `json:"errors_by_code"`
	// RedisErrors counts failed Redis commands, by command.
	RedisErrors map[string]uint64 `json:"redis_errors"`
	// ArchiveBacklog, Archived and ArchiveFailures are the archiver's
	// figures (zero without an archive).
	ArchiveBacklog  int64  `json:"archive_backlog"`
	Archived        uint64 `json:"archived"`
	ArchiveFailures uint64 `json:"archive_failures"`
}

// Snapshot reads the current counts. It reads the Prometheus series
// themselves, so the admin page and /metrics never disagree.
func (m *Metrics) Snapshot() Counts {
	c := Counts{
		Sessions:            int64(value(m.sessions)),
		Deliveries:          uint64(value(m.deliveries)),
		SendBufferOverflows: uint64(value(m.overflows)),
		SlowConsumerCloses:  uint64(value(m.slowCloses)),
		Resyncs:             uint64(value(m.resyncs)),
		Resubscribes:        uint64(value(m.resubscribes)),
		ArchiveBacklog:      int64(value(m.archiveBacklog)),
		Archived:            uint64(value(m.archived)),
		ArchiveFailures:     uint64(value(m.archiveFailures)),
		OpsOK:               make(map[string]uint64),
		ErrorsByCode:        make(map[string]uint64),
		RedisErrors:         make(map[string]uint64),
	}
	for k, kind := range Kinds {
		for r, result := range Results {
			n := uint64(value(m.ops[k][r]))
			if n == 0 {
				continue
			}
			if r == 0 {
				c.OpsOK[kind] += n
			} else {
				c.ErrorsByCode[result] += n
			}
		}
	}
	m.redisMu.RLock()
	for label, child := range m.redis {
		if n := uint64(value(child.errors)); n > 0 {
			c.RedisErrors[label] = n
		}
	}
	m.redisMu.RUnlock()
	return c
}

// value reads a counter's or gauge's current value.
func value(c prometheus.Metric) float64 {
	var d dto.Metric
	if err := c.Write(&d); err != nil {
		return 0
	}
	switch {
	case d.Counter != nil:
		return d.Counter.GetValue()
	case d.Gauge != nil:
		return d.Gauge.GetValue()
	}
	return 0
}
