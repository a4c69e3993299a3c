package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// runner is the state of one load run.
type runner struct {
	cfg         Config
	log         *slog.Logger
	start       time.Time
	joinTimeout time.Duration
	dialer      *websocket.Dialer
	http        *http.Client

	papers   []*paperState
	sessions []*session

	// The measured window, ns since start; MaxInt64 until the load starts.
	mStart, mEnd atomic.Int64
	// closing is set when loadgen closes the sessions itself.
	closing atomic.Bool

	lat shardedHist // op latency at receivers other than the sender
	own shardedHist // op latency of the sender's own echo
	ack shardedHist // send to ack
	// lag is how late the senders send against their schedule: when it
	// grows, the machine (not the server alone) is saturated and the
	// offered rate falls short.
	lag shardedHist

	joinStart int64
	readers   sync.WaitGroup

	errMu sync.Mutex
	errs  map[string]int64
}

func (r *runner) now() int64 { return int64(time.Since(r.start)) }

func (r *runner) addErr(code string) {
	r.errMu.Lock()
	r.errs[code]++
	r.errMu.Unlock()
}

// target is one replica under load and, when known, its process.
type target struct {
	url string
	pid int
}

// Run performs one load run: create the papers, join every session, sit
// idle (idle RSS), warm up, measure, drain, and report. With cfg.Spawn it
// starts and stops Redis and the replicas itself.
func Run(ctx context.Context, cfg Config, log *slog.Logger) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := raiseFileLimit(cfg.Sessions + 256); err != nil {
		return nil, err
	}
	transport := &http.Transport{MaxIdleConnsPerHost: 32}
	defer transport.CloseIdleConnections()
	r := &runner{
		cfg:         cfg,
		log:         log,
		start:       time.Now(),
		joinTimeout: 30 * time.Second,
		http:        &http.Client{Timeout: 30 * time.Second, Transport: transport},
		errs:        map[string]int64{},
		dialer: &websocket.Dialer{
			HandshakeTimeout: 30 * time.Second,
			// Server frames are a few hundred bytes; a snapshot bigger than
			// the buffer is simply read in several pieces.
			ReadBufferSize:  2048,
			WriteBufferSize: 1024,
			// Idle sessions hold no write buffer between sends.
			WriteBufferPool: &sync.Pool{},
		},
	}
	r.mStart.Store(math.MaxInt64)
	r.mEnd.Store(math.MaxInt64)

	var targets []target
	var cl *cluster
	if cfg.Spawn > 0 {
		var err error
		cl, err = spawnCluster(ctx, cfg, log)
		if err != nil {
			return nil, err
		}
		defer cl.stop(false)
		for i, u := range cl.targets {
			targets = append(targets, target{url: u, pid: cl.replicas[i].pid()})
		}
	} else {
		for i, u := range cfg.Targets {
			t := target{url: strings.TrimSuffix(u, "/")}
			if len(cfg.Pids) > 0 {
				t.pid = cfg.Pids[i]
			}
			targets = append(targets, t)
		}
	}
	res, err := r.run(ctx, targets, cl)
	// Sessions are closed before the replicas are stopped (deferred above)
	// so nothing counts the shutdown as an error.
	r.closing.Store(true)
	for _, s := range r.sessions {
		s.closeConn()
	}
	r.readers.Wait()
	return res, err
}

func (r *runner) run(ctx context.Context, targets []target, cl *cluster) (*Result, error) {
	cfg := r.cfg
	if err := r.createPapers(ctx, targets); err != nil {
		return nil, err
	}
	before := sampleAll(targets, cl)

	r.log.Info("joining", "sessions", cfg.Sessions, "papers", cfg.Papers, "replicas", len(targets))
	joined, err := r.joinAll(ctx, targets)
	if err != nil {
		return nil, err
	}
	if joined == 0 {
		return nil, fmt.Errorf("no session joined; errors: %v", r.errs)
	}
	r.log.Info("joined", "sessions", joined, "took", time.Since(r.start.Add(time.Duration(r.joinStart))).Round(time.Millisecond))

	if err := sleepCtx(ctx, cfg.Idle); err != nil {
		return nil, err
	}
	idle := sampleAll(targets, cl)

	// Load: warm-up then the measured window. The shards stop at mEnd.
	t0 := r.now() + int64(10*time.Millisecond)
	mStart := t0 + int64(cfg.Warmup)
	mEnd := mStart + int64(cfg.Duration)
	r.mStart.Store(mStart)
	r.mEnd.Store(mEnd)
	var senders sync.WaitGroup
	for _, sh := range r.shards() {
		senders.Add(1)
		go func() {
			defer senders.Done()
			sh.run(ctx, t0, mEnd)
		}()
	}
	r.log.Info("load started", "warmup", cfg.Warmup, "duration", cfg.Duration)
	waitUntil := func(at int64) error { return sleepCtx(ctx, time.Duration(at-r.now())) }
	errA := waitUntil(mStart)
	atStart := sampleAll(targets, cl)
	var atEnd samples
	if errA == nil {
		r.log.Info("measuring")
		errA = waitUntil(mEnd)
		atEnd = sampleAll(targets, cl)
	}
	senders.Wait()
	if errA != nil {
		return nil, errA
	}
	r.log.Info("draining")
	drained := r.drain(ctx)
	final := sampleAll(targets, cl)
	if cl != nil {
		if err := cl.replicaDied(); err != nil {
			r.log.Warn("a process exited during the run", "err", err)
			r.addErr("process_exited")
		}
	}
	goroutines := r.goroutines(ctx, targets, cl)
	return r.result(joined, drained, targets, cl, before, idle, atStart, atEnd, final, goroutines), nil
}

// createPapers creates cfg.Papers papers through POST /v1/papers, spread
// over the targets.
func (r *runner) createPapers(ctx context.Context, targets []target) error {
	r.papers = make([]*paperState, r.cfg.Papers)
	idx := make(chan int)
	errc := make(chan error, 16)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range idx {
				tg := targets[i%len(targets)].url
				id, err := r.createPaper(ctx, tg, i)
				if err != nil {
					errc <- err
					return
				}
				r.papers[i] = &paperState{id: id, target: tg}
			}
		}()
	}
	var err error
feed:
	for i := range r.cfg.Papers {
		select {
		case idx <- i:
		case err = <-errc:
			break feed
		case <-ctx.Done():
			err = ctx.Err()
			break feed
		}
	}
	close(idx)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errc:
		default:
		}
	}
	if err != nil {
		return fmt.Errorf("create papers (against running replicas, raise limits.creates_per_minute and limits.creates_burst: one address creates them all): %w", err)
	}
	return nil
}

func (r *runner) createPaper(ctx context.Context, base string, i int) (string, error) {
	body := fmt.Sprintf(`{"title":"loadgen paper %d","to":"the team"}`, i)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/papers", strings.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("POST %s/v1/papers: %w", base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("POST %s/v1/papers: %w", base, err)
	}
	if resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("POST %s/v1/papers: %d %s", base, resp.StatusCode, bytes.TrimSpace(data))
	}
	var out struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(data, &out); err != nil || out.ID == "" {
		return "", fmt.Errorf("POST %s/v1/papers: no id in %q", base, data)
	}
	return out.ID, nil
}

// joinAll dials every session, cfg.JoinConcurrency at a time. Session j is
// on paper j%P, and the k-th session of a paper on replica (p+k)%R, so each
// paper's sessions are spread over the replicas like a load balancer would.
func (r *runner) joinAll(ctx context.Context, targets []target) (int, error) {
	cfg := r.cfg
	r.joinStart = r.now()
	all := make([]*session, cfg.Sessions)
	for j := range all {
		p := j % cfg.Papers
		k := j / cfg.Papers
		all[j] = &session{r: r, idx: j, paper: r.papers[p], target: targets[(p+k)%len(targets)].url}
	}
	idx := make(chan int)
	var joined atomic.Int64
	var wg sync.WaitGroup
	for range cfg.JoinConcurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range idx {
				s := all[j]
				if err := s.join(ctx); err != nil {
					var je joinError
					if errors.As(err, &je) {
						r.addErr(je.code)
					} else {
						r.addErr("join_error")
					}
					r.log.Debug("join failed", "session", j, "err", err)
					continue
				}
				joined.Add(1)
			}
		}()
	}
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	var err error
feed:
	for j := range all {
		select {
		case idx <- j:
		case <-tick.C:
			r.log.Info("joining", "joined", joined.Load(), "of", cfg.Sessions)
			select {
			case idx <- j:
			case <-ctx.Done():
				err = ctx.Err()
				break feed
			}
		case <-ctx.Done():
			err = ctx.Err()
			break feed
		}
	}
	close(idx)
	wg.Wait()
	for _, s := range all {
		if s.conn != nil {
			r.sessions = append(r.sessions, s)
		}
	}
	return int(joined.Load()), err
}

// shards deals the joined sessions out to the sender goroutines.
func (r *runner) shards() []*shard {
	n := max(2, 2*runtime.GOMAXPROCS(0))
	n = min(n, len(r.sessions))
	out := make([]*shard, n)
	for i := range out {
		out[i] = &shard{id: i, r: r, rng: rand.New(rand.NewPCG(r.cfg.Seed, uint64(i)))}
	}
	for i, s := range r.sessions {
		sh := out[i%n]
		sh.sessions = append(sh.sessions, s)
	}
	return out
}

// totals sums the sessions' counters.
func (r *runner) totals() sessionTotals {
	var t sessionTotals
	for _, s := range r.sessions {
		st := &s.st
		t.sentOps += st.sentOps.Load()
		t.sentPresence += st.sentPresence.Load()
		t.acked += st.acked.Load()
		t.ackedWin += st.ackedWin.Load()
		t.opErrors += st.opErrors.Load()
		t.expected += st.expected.Load()
		t.received += st.received.Load()
		t.deliveredWin += st.deliveredWin.Load()
		t.ownEchoes += st.ownEchoes.Load()
		t.duplicates += st.duplicates.Load()
		t.outOfOrder += st.outOfOrder.Load()
		t.gapMissing += st.gapMissing.Load()
		t.senderOutOfOrder += st.senderOutOfOrder.Load()
		t.erroredDelivered += st.erroredDelivered.Load()
		t.presence += st.presence.Load()
		t.presenceWin += st.presenceWin.Load()
	}
	return t
}

type sessionTotals struct {
	sentOps, sentPresence, acked, ackedWin, opErrors, expected, received, deliveredWin int64
	ownEchoes, duplicates, outOfOrder, gapMissing, presence, presenceWin               int64
	senderOutOfOrder, erroredDelivered                                                 int64
}

// drain waits, after the last send, until every op is answered and every
// expected delivery has arrived, or cfg.Drain passes. It reports whether
// everything arrived.
func (r *runner) drain(ctx context.Context) bool {
	deadline := time.Now().Add(r.cfg.Drain)
	for {
		t := r.totals()
		if t.sentOps == t.acked+t.opErrors && t.received >= t.expected {
			return true
		}
		if time.Now().After(deadline) || sleepCtx(ctx, 50*time.Millisecond) != nil {
			return false
		}
	}
}

// samples are /proc readings of the replicas, Redis and loadgen at once.
type samples struct {
	replicas []procSample
	redis    procSample
	self     procSample
}

func sampleAll(targets []target, cl *cluster) samples {
	var s samples
	for _, t := range targets {
		if t.pid > 0 {
			s.replicas = append(s.replicas, readProc(t.pid))
		} else {
			s.replicas = append(s.replicas, procSample{})
		}
	}
	if cl != nil && cl.redis != nil {
		s.redis = readProc(cl.redis.pid())
	}
	s.self = readProc(os.Getpid())
	return s
}

// goroutines asks each replica's /metrics (Prometheus text) for
// go_goroutines, with the admin token; -1 where it is not served.
func (r *runner) goroutines(ctx context.Context, targets []target, cl *cluster) []int {
	out := make([]int, len(targets))
	for i, t := range targets {
		out[i] = -1
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.url+"/metrics", nil)
		if err != nil {
			continue
		}
		if cl != nil {
			req.Header.Set("Authorization", "Bearer "+cl.token)
		}
		resp, err := r.http.Do(req)
		if err != nil {
			continue
		}
		if resp.StatusCode == http.StatusOK {
			sc := bufio.NewScanner(io.LimitReader(resp.Body, 8<<20))
			sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
			for sc.Scan() {
				if v, ok := strings.CutPrefix(sc.Text(), "go_goroutines "); ok {
					if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
						out[i] = int(f)
					}
					break
				}
			}
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 8<<20))
		resp.Body.Close()
	}
	return out
}

// joinQuantiles are exact quantiles of the join times.
func (r *runner) joinQuantiles() Quantiles {
	ns := make([]int64, 0, len(r.sessions))
	for _, s := range r.sessions {
		ns = append(ns, s.joinNs)
	}
	if len(ns) == 0 {
		return Quantiles{}
	}
	sort.Slice(ns, func(i, j int) bool { return ns[i] < ns[j] })
	at := func(q float64) float64 {
		i := int(math.Ceil(q*float64(len(ns)))) - 1
		return msOf(ns[max(0, min(i, len(ns)-1))])
	}
	return Quantiles{Count: int64(len(ns)), P50: at(0.50), P90: at(0.90), P99: at(0.99), P999: at(0.999), Max: msOf(ns[len(ns)-1])}
}

func gomaxprocs() int { return runtime.GOMAXPROCS(0) }
