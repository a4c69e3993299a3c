package loadgen

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Result is what one run measured; its JSON is the `--out` file.
type Result struct {
	Config ConfigEcho `json:"config"`

	// Sessions is how many sessions joined (of Config.Sessions asked).
	Sessions   int       `json:"sessions"`
	JoinFailed int       `json:"join_failed"`
	Papers     int       `json:"papers"`
	Replicas   int       `json:"replica_count"`
	JoinMS     Quantiles `json:"join_ms"`

	// Rates are over the measured window (Config.Duration), by the time
	// the frame was received.
	MeasuredS                float64 `json:"measured_s"`
	OpsOfferedPerSec         float64 `json:"ops_offered_per_sec"` // sessions x rate
	OpsAckedPerSec           float64 `json:"ops_acked_per_sec"`
	DeliveriesPerSec         float64 `json:"deliveries_per_sec"` // op frames, the sender's own echo included
	PresenceDeliveriesPerSec float64 `json:"presence_deliveries_per_sec"`

	// LatencyMS is send to receive at every session of the paper except
	// the sender, for ops sent inside the window; OwnEchoMS is the sender's
	// own copy of its op, AckMS send to ack.
	LatencyMS Quantiles `json:"latency_ms"`
	OwnEchoMS Quantiles `json:"own_echo_ms"`
	AckMS     Quantiles `json:"ack_ms"`
	// SendLagMS is how late sends left against their schedule (all of
	// the load, warm-up included): large values mean loadgen could not
	// keep the offered rate, so the machine is saturated.
	SendLagMS Quantiles `json:"send_lag_ms"`

	// Over the whole load (warm-up, window and drain): every acked op is
	// expected once at every session connected to its paper when the ack
	// came back.
	OpsSent  int64 `json:"ops_sent"`
	OpsAcked int64 `json:"ops_acked"`
	OpErrors int64 `json:"op_errors"`
	// OpsUnanswered got neither an ack nor an error by the end of the
	// drain.
	OpsUnanswered int64 `json:"ops_unanswered"`
	PresenceSent  int64 `json:"presence_sent"`
	Expected      int64 `json:"expected_deliveries"`
	Received      int64 `json:"received_deliveries"`
	Lost          int64 `json:"lost"`
	OutOfOrder    int64 `json:"out_of_order"`
	GapSeqs       int64 `json:"gap_seqs"`
	Duplicates    int64 `json:"duplicates"`
	// SenderOutOfOrder counts op frames a receiver got after a later op of
	// the same sender (by the counter each sender puts in its upserts): the
	// seqs cannot show an op stored after the sender's next one.
	SenderOutOfOrder int64 `json:"sender_out_of_order"`
	// ErroredDelivered counts ops answered with an error frame whose op
	// frame came back to the sender anyway: errors that did not mean "not
	// stored" (an `unavailable` after a store timeout can be one).
	ErroredDelivered int64 `json:"errored_delivered"`
	Drained          bool  `json:"drained"`

	// Errors counts error frames by code, unexpected close codes
	// (close_4008...) and join failures (join_http_503...).
	Errors map[string]int64 `json:"errors"`

	// RSSBytesPerSession is the replicas' RSS growth from before the
	// sessions joined to after they sat idle, per session; null without
	// replica pids.
	RSSBytesPerSession *float64 `json:"rss_bytes_per_session"`
	// CPUUsPerDelivery is replica plus Redis CPU time in the window per
	// op delivery; null without pids.
	CPUUsPerDelivery        *float64       `json:"cpu_us_per_delivery"`
	ReplicaCPUUsPerDelivery *float64       `json:"replica_cpu_us_per_delivery"`
	RedisCPUUsPerDelivery   *float64       `json:"redis_cpu_us_per_delivery"`
	LoadgenCPUUsPerDelivery *float64       `json:"loadgen_cpu_us_per_delivery"`
	ReplicaStats            []ProcessStats `json:"replicas"`
	Redis                   *ProcessStats  `json:"redis,omitempty"`
	Loadgen                 ProcessStats   `json:"loadgen"`
}

// Quantiles are in milliseconds.
type Quantiles struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p999"`
	Max   float64 `json:"max"`
}

// ProcessStats is one process as /proc saw it.
type ProcessStats struct {
	URL string `json:"url,omitempty"`
	PID int    `json:"pid,omitempty"`
	// RSS before the sessions joined, after they sat idle, at the end of
	// the window.
	RSSBeforeBytes int64 `json:"rss_before_bytes"`
	RSSIdleBytes   int64 `json:"rss_idle_bytes"`
	RSSLoadBytes   int64 `json:"rss_load_bytes"`
	// CPUSeconds is user+system time inside the measured window.
	CPUSeconds float64 `json:"cpu_seconds"`
	// CPUPercent is CPUSeconds over the window (100 = one core).
	CPUPercent float64 `json:"cpu_percent"`
	Threads    int     `json:"threads"`
	// Goroutines from the replica's /metrics, -1 when not served.
	Goroutines int `json:"goroutines,omitempty"`
}

// ConfigEcho is the run's configuration as given.
type ConfigEcho struct {
	Targets         []string `json:"targets,omitempty"`
	Spawn           int      `json:"spawn,omitempty"`
	Store           string   `json:"store,omitempty"`
	Bin             string   `json:"bin,omitempty"`
	ReplicaEnv      []string `json:"replica_env,omitempty"`
	Sessions        int      `json:"sessions"`
	Papers          int      `json:"papers"`
	SessionsPerPap  float64  `json:"sessions_per_paper"`
	Rate            float64  `json:"rate"`
	PresenceRate    float64  `json:"presence_rate"`
	Idle            string   `json:"idle"`
	Warmup          string   `json:"warmup"`
	Duration        string   `json:"duration"`
	Drain           string   `json:"drain"`
	JoinConcurrency int      `json:"join_concurrency"`
	Batch           bool     `json:"batch"`
	Seed            uint64   `json:"seed"`
	GOMAXPROCS      int      `json:"gomaxprocs"`
	StartedAt       string   `json:"started_at"`
}

func msOf(ns int64) float64 { return float64(ns) / 1e6 }

func quantilesOf(h *shardedHist) Quantiles {
	s := h.snapshot()
	return Quantiles{
		Count: int64(s.total),
		P50:   msOf(s.quantile(0.50)),
		P90:   msOf(s.quantile(0.90)),
		P99:   msOf(s.quantile(0.99)),
		P999:  msOf(s.quantile(0.999)),
		Max:   msOf(s.max),
	}
}

func ptr(v float64) *float64 { return &v }

func (r *runner) result(joined int, drained bool, targets []target, cl *cluster, before, idle, atStart, atEnd, final samples, goroutines []int) *Result {
	cfg := r.cfg
	t := r.totals()
	win := cfg.Duration.Seconds()
	res := &Result{
		Config:                   r.echo(),
		Sessions:                 joined,
		JoinFailed:               cfg.Sessions - joined,
		Papers:                   cfg.Papers,
		Replicas:                 len(targets),
		JoinMS:                   r.joinQuantiles(),
		MeasuredS:                win,
		OpsOfferedPerSec:         float64(joined) * cfg.Rate,
		OpsAckedPerSec:           float64(t.ackedWin) / win,
		DeliveriesPerSec:         float64(t.deliveredWin) / win,
		PresenceDeliveriesPerSec: float64(t.presenceWin) / win,
		LatencyMS:                quantilesOf(&r.lat),
		OwnEchoMS:                quantilesOf(&r.own),
		AckMS:                    quantilesOf(&r.ack),
		SendLagMS:                quantilesOf(&r.lag),
		OpsSent:                  t.sentOps,
		OpsAcked:                 t.acked,
		OpErrors:                 t.opErrors,
		OpsUnanswered:            max(0, t.sentOps-t.acked-t.opErrors),
		PresenceSent:             t.sentPresence,
		Expected:                 t.expected,
		Received:                 t.received,
		Lost:                     max(0, t.expected-t.received),
		OutOfOrder:               t.outOfOrder,
		GapSeqs:                  t.gapMissing,
		Duplicates:               t.duplicates,
		SenderOutOfOrder:         t.senderOutOfOrder,
		ErroredDelivered:         t.erroredDelivered,
		Drained:                  drained,
		Errors:                   map[string]int64{},
	}
	r.errMu.Lock()
	for k, v := range r.errs {
		res.Errors[k] = v
	}
	r.errMu.Unlock()

	// Per replica, and the sums for the per-session and per-delivery
	// figures; a figure is only given when every replica was readable.
	var rssGrowth int64
	var replicaCPU float64
	allReplicas := len(targets) > 0
	for i, tg := range targets {
		ps := ProcessStats{URL: tg.url, PID: tg.pid, Goroutines: goroutines[i]}
		b, id, s, e, f := before.replicas[i], idle.replicas[i], atStart.replicas[i], atEnd.replicas[i], final.replicas[i]
		if !(b.ok && id.ok && s.ok && e.ok) {
			allReplicas = false
		}
		ps.RSSBeforeBytes, ps.RSSIdleBytes, ps.RSSLoadBytes = b.rss, id.rss, e.rss
		if s.ok && e.ok {
			ps.CPUSeconds = e.cpu - s.cpu
			ps.CPUPercent = 100 * ps.CPUSeconds / win
		}
		ps.Threads = f.threads
		rssGrowth += id.rss - b.rss
		replicaCPU += ps.CPUSeconds
		res.ReplicaStats = append(res.ReplicaStats, ps)
	}
	perDelivery := func(cpu float64) *float64 {
		if t.deliveredWin == 0 {
			return nil
		}
		return ptr(cpu * 1e6 / float64(t.deliveredWin))
	}
	if allReplicas {
		if joined > 0 {
			res.RSSBytesPerSession = ptr(float64(rssGrowth) / float64(joined))
		}
		res.ReplicaCPUUsPerDelivery = perDelivery(replicaCPU)
		res.CPUUsPerDelivery = res.ReplicaCPUUsPerDelivery
	}
	if atStart.redis.ok && atEnd.redis.ok {
		cpu := atEnd.redis.cpu - atStart.redis.cpu
		res.Redis = &ProcessStats{
			PID:            redisPID(cl),
			RSSBeforeBytes: before.redis.rss, RSSIdleBytes: idle.redis.rss, RSSLoadBytes: atEnd.redis.rss,
			CPUSeconds: cpu, CPUPercent: 100 * cpu / win, Threads: final.redis.threads,
		}
		res.RedisCPUUsPerDelivery = perDelivery(cpu)
		if allReplicas {
			res.CPUUsPerDelivery = perDelivery(replicaCPU + cpu)
		}
	}
	if atStart.self.ok && atEnd.self.ok {
		cpu := atEnd.self.cpu - atStart.self.cpu
		res.Loadgen = ProcessStats{
			PID:            os.Getpid(),
			RSSBeforeBytes: before.self.rss, RSSIdleBytes: idle.self.rss, RSSLoadBytes: atEnd.self.rss,
			CPUSeconds: cpu, CPUPercent: 100 * cpu / win, Threads: final.self.threads,
		}
		res.LoadgenCPUUsPerDelivery = perDelivery(cpu)
	}
	return res
}

func (r *runner) echo() ConfigEcho {
	c := r.cfg
	return ConfigEcho{
		Targets: c.Targets, Spawn: c.Spawn, Store: storeIfSpawned(c), Bin: binIfSpawned(c), ReplicaEnv: c.ReplicaEnv,
		Sessions: c.Sessions, Papers: c.Papers, SessionsPerPap: float64(c.Sessions) / float64(c.Papers),
		Rate: c.Rate, PresenceRate: c.PresenceRate,
		Idle: c.Idle.String(), Warmup: c.Warmup.String(), Duration: c.Duration.String(), Drain: c.Drain.String(),
		JoinConcurrency: c.JoinConcurrency, Seed: c.Seed, GOMAXPROCS: gomaxprocs(), Batch: c.Batch,
		StartedAt: r.start.UTC().Format(time.RFC3339),
	}
}

func redisPID(cl *cluster) int {
	if cl == nil || cl.redis == nil {
		return 0
	}
	return cl.redis.pid()
}

func storeIfSpawned(c Config) string {
	if c.Spawn > 0 {
		return c.Store
	}
	return ""
}

func binIfSpawned(c Config) string {
	if c.Spawn > 0 {
		return c.Bin
	}
	return ""
}

// WriteTable prints the result for a person.
func (res *Result) WriteTable(w io.Writer) error {
	c := res.Config
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	where := fmt.Sprintf("%d replicas (%s)", res.Replicas, strings.Join(c.Targets, ","))
	if c.Spawn > 0 {
		where = fmt.Sprintf("%d spawned replicas, store %s", c.Spawn, c.Store)
	}
	fmt.Fprintf(tw, "papercast loadtest\t%d/%d sessions on %d papers (%.0f per paper), %s\n", res.Sessions, c.Sessions, res.Papers, c.SessionsPerPap, where)
	fmt.Fprintf(tw, "load\t%g ops/s + %g presence/s per session; %s idle, %s warm-up, %s measured\n", c.Rate, c.PresenceRate, c.Idle, c.Warmup, c.Duration)
	fmt.Fprintf(tw, "join ms\t%s\n", fmtQ(res.JoinMS))
	fmt.Fprintf(tw, "ops acked/s\t%.0f (offered %.0f)\n", res.OpsAckedPerSec, res.OpsOfferedPerSec)
	fmt.Fprintf(tw, "deliveries/s\t%.0f ops (+ %.0f presence)\n", res.DeliveriesPerSec, res.PresenceDeliveriesPerSec)
	fmt.Fprintf(tw, "latency ms\t%s\n", fmtQ(res.LatencyMS))
	fmt.Fprintf(tw, "own echo ms\t%s\n", fmtQ(res.OwnEchoMS))
	fmt.Fprintf(tw, "ack ms\t%s\n", fmtQ(res.AckMS))
	fmt.Fprintf(tw, "send lag ms\t%s\n", fmtQ(res.SendLagMS))
	fmt.Fprintf(tw, "ops\t%d sent, %d acked, %d refused, %d unanswered\n", res.OpsSent, res.OpsAcked, res.OpErrors, res.OpsUnanswered)
	fmt.Fprintf(tw, "delivery\tlost %d of %d expected, out of order %d (%d seqs skipped), duplicates %d, drained %v\n",
		res.Lost, res.Expected, res.OutOfOrder, res.GapSeqs, res.Duplicates, res.Drained)
	fmt.Fprintf(tw, "per sender\tout of order %d, refused but delivered %d\n", res.SenderOutOfOrder, res.ErroredDelivered)
	fmt.Fprintf(tw, "errors\t%s\n", fmtErrors(res.Errors))
	fmt.Fprintf(tw, "idle RSS/session\t%s\n", fmtOpt(res.RSSBytesPerSession, func(v float64) string { return fmt.Sprintf("%.1f KiB", v/1024) }))
	us := func(v float64) string { return fmt.Sprintf("%.1f us", v) }
	fmt.Fprintf(tw, "CPU/delivery\t%s (replicas %s, redis %s); loadgen %s\n", fmtOpt(res.CPUUsPerDelivery, us),
		fmtOpt(res.ReplicaCPUUsPerDelivery, us), fmtOpt(res.RedisCPUUsPerDelivery, us), fmtOpt(res.LoadgenCPUUsPerDelivery, us))
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "process\tpid\tRSS before\tRSS idle\tRSS load\tCPU s\tCPU %\tthreads\tgoroutines")
	row := func(name string, p ProcessStats) {
		g := "-"
		if p.Goroutines > 0 {
			g = fmt.Sprint(p.Goroutines)
		}
		pid := "-"
		if p.PID > 0 {
			pid = fmt.Sprint(p.PID)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%.2f\t%.0f\t%d\t%s\n", name, pid, mib(p.RSSBeforeBytes), mib(p.RSSIdleBytes), mib(p.RSSLoadBytes), p.CPUSeconds, p.CPUPercent, p.Threads, g)
	}
	for i, p := range res.ReplicaStats {
		row(fmt.Sprintf("replica %d", i), p)
	}
	if res.Redis != nil {
		row("redis", *res.Redis)
	}
	row("loadgen", res.Loadgen)
	return tw.Flush()
}

func fmtQ(q Quantiles) string {
	if q.Count == 0 {
		return "none"
	}
	return fmt.Sprintf("p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f  (n=%d)", q.P50, q.P90, q.P99, q.P999, q.Max, q.Count)
}

func fmtErrors(m map[string]int64) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}

func fmtOpt(v *float64, f func(float64) string) string {
	if v == nil {
		return "n/a"
	}
	return f(*v)
}

func mib(b int64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
}
