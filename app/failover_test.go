package app_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/papercast/papercast/app"
	"github.com/papercast/papercast/internal/redistest"
	"github.com/papercast/papercast/internal/wstest"
	redisstore "github.com/papercast/papercast/repository/redis"
)

// sentinelReplicas starts two papercast replicas in sentinel mode, as
// deployed: they find the master through the sentinels and follow a
// failover.
func sentinelReplicas(t *testing.T, sentinels []*redistest.Server, waitReplicas int) []*app.App {
	t.Helper()
	var addrs []string
	for _, s := range sentinels {
		addrs = append(addrs, s.Addr())
	}
	prefix := fmt.Sprintf("t%d:", time.Now().UnixNano())
	var out []*app.App
	for range 2 {
		cfg := replicaConfig(addrs, redisstore.ModeSentinel, prefix)
		cfg.Redis.MasterSet = redistest.SentinelMasterSet
		// A write stuck on the dead master fails within 2s (unavailable)
		// instead of 5s: the clients go on editing through the failover.
		cfg.Redis.Timeout = 2 * time.Second
		cfg.Redis.WaitReplicas = waitReplicas
		cfg.Redis.WaitTimeout = 500 * time.Millisecond
		out = append(out, startApp(t, cfg))
	}
	return out
}

// editor is one client of a failover test: it creates a new note per op
// (its id is the op's ref), keeps its view as a frontend does, and
// reconnects with since/epoch whenever its session ends.
type editor struct {
	t       *testing.T
	base    string
	paperID string
	user    string

	c        *wstest.Client
	v        *wstest.Viewer
	acked    []string        // notes whose upsert was acked
	epochs   map[string]bool // every epoch a snapshot or resumed frame gave
	resets   int             // snapshots after the first join
	refusals map[string]int  // error codes of refused edits
	progress *ackProgress
}

func newEditor(t *testing.T, base, paperID string, i int, progress *ackProgress) *editor {
	return &editor{t: t, base: base, paperID: paperID, user: fmt.Sprint("u", i),
		v: wstest.NewViewer(), epochs: map[string]bool{}, refusals: map[string]int{}, progress: progress}
}

// connect joins (or resumes), retrying while the replica refuses, until
// deadline.
func (e *editor) connect(deadline time.Time) error {
	for {
		q := wstest.Q("user", e.user)
		if e.v.Epoch != "" {
			q = wstest.Q("user", e.user, "since", fmt.Sprint(e.v.Seq), "epoch", e.v.Epoch)
		}
		c, _, err := wstest.Dial(e.t, e.base, e.paperID, q)
		if err == nil {
			f, err := c.NextErr(nil, 5*time.Second)
			if err == nil && (f.Type == "snapshot" || f.Type == "resumed") {
				if f.Type == "snapshot" && e.v.Epoch != "" {
					e.resets++
				}
				e.epochs[f.Epoch] = true
				e.v.Apply(f)
				e.c = c
				return nil
			}
			c.Conn.Close()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: no session by the deadline (last: %v)", e.user, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// edit sends one upsert and reads until its answer, applying every frame;
// a session that ends meanwhile is resumed (the op's fate is then unknown).
func (e *editor) edit(ref string, deadline time.Time) error {
	if e.c == nil || e.c.CloseCode() != 0 {
		if err := e.reconnect(deadline); err != nil {
			return err
		}
	}
	if err := e.c.SendErr(wstest.Upsert(ref, ref, map[string]any{"ref": ref})); err != nil {
		return e.reconnect(deadline)
	}
	for {
		f, err := e.c.NextErr(nil, 10*time.Second)
		if err != nil {
			return e.reconnect(deadline)
		}
		e.v.Apply(f)
		if f.Ref != ref || (f.Type != "ack" && f.Type != "error") {
			continue
		}
		if f.Type == "ack" {
			e.acked = append(e.acked, ref)
			e.progress.n.Add(1)
		} else {
			e.refusals[f.Code]++
		}
		return nil
	}
}

func (e *editor) reconnect(deadline time.Time) error {
	if e.c != nil {
		e.c.Conn.Close()
		for _, f := range e.c.Drain() {
			e.v.Apply(f)
		}
		e.c = nil
	}
	return e.connect(deadline)
}

// poll applies what arrived within wait and resumes a session that ended.
func (e *editor) poll(wait time.Duration, deadline time.Time) error {
	if e.c == nil || e.c.CloseCode() != 0 {
		return e.reconnect(deadline)
	}
	for {
		f, err := e.c.NextErr(nil, wait)
		if err != nil {
			return nil // nothing more for now (or closed: resumed next time)
		}
		e.v.Apply(f)
		wait = time.Millisecond
	}
}

// failoverRun has six editors (three per replica) edit steadily while
// during() runs, then stops them and returns them.
func failoverRun(t *testing.T, replicas []*app.App, paperID string, progress *ackProgress, during func()) []*editor {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var eds []*editor
	for i := range 6 {
		e := newEditor(t, replicas[i%2].URL(), paperID, i, progress)
		if err := e.connect(deadline); err != nil {
			t.Fatal(err)
		}
		eds = append(eds, e)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, len(eds))
	for i, e := range eds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; !stop.Load(); k++ {
				if err := e.edit(fmt.Sprintf("c%dn%d", i, k), deadline); err != nil {
					errs <- err
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	func() {
		// A failing scenario (t.Fatal) stops the editors too.
		defer func() { stop.Store(true); wg.Wait() }()
		during()
	}()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return eds
}

// settle waits until both replicas serve the same document and every
// editor's view stands at its seq and epoch (a session the server ends is
// resumed, as a client would), and returns that document.
func settle(t *testing.T, replicas []*app.App, paperID string, eds []*editor) wstest.Document {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		doc := wstest.GetDocument(t, replicas[0].URL(), paperID)
		same := reflect.DeepEqual(doc, wstest.GetDocument(t, replicas[1].URL(), paperID))
		settled := same
		for _, e := range eds {
			if err := e.poll(100*time.Millisecond, deadline); err != nil {
				t.Fatal(err)
			}
			if e.v.Seq != doc.Seq || e.v.Epoch != doc.Epoch {
				settled = false
			}
		}
		if settled {
			return doc
		}
		if time.Now().After(deadline) {
			var where []string
			for _, e := range eds {
				where = append(where, fmt.Sprintf("%s at %d/%s", e.user, e.v.Seq, e.v.Epoch))
			}
			t.Fatalf("not settled within 30s: replicas agree %v, document at %d/%s, clients %v", same, doc.Seq, doc.Epoch, where)
		}
	}
}

func ackedCount(eds []*editor) int {
	n := 0
	for _, e := range eds {
		n += len(e.acked)
	}
	return n
}

// ackProgress counts the acks of all editors, for the scenario to wait on.
type ackProgress struct{ n atomic.Int64 }

func (p *ackProgress) count() int64 { return p.n.Load() }

// wait waits until n acks were counted.
func (p *ackProgress) wait(t *testing.T, n int64, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for p.count() < n {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %d acks, got %d", timeout, n, p.count())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func refusals(eds []*editor) map[string]int {
	out := map[string]int{}
	for _, e := range eds {
		for code, n := range e.refusals {
			out[code] += n
		}
	}
	return out
}

// waitPromoted waits until the sentinel names one of the candidates master
// (and it says so itself), and returns it.
func waitPromoted(t *testing.T, sentinel *redistest.Server, candidates ...*redistest.Server) *redistest.Server {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		got, err := sentinel.Do("SENTINEL", "get-master-addr-by-name", redistest.SentinelMasterSet)
		for _, c := range candidates {
			if err == nil && got == fmt.Sprintf("127.0.0.1\n%d", c.Port()) {
				if role, err := c.Do("ROLE"); err == nil && len(role) >= 6 && role[:6] == "master" {
					return c
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("no replica was promoted within 30s")
	return nil
}

// TestSentinelFailoverWithWaitReplicasLosesNoAckedOp: a master, two
// replicas and three Sentinels; two papercast replicas in sentinel mode
// with redis.wait_replicas 1; six clients edit steadily; the master is
// killed (-9) and Sentinel promotes a replica. The clients resume and edit
// on, and at the end every acked op is in the document (GET) and every
// client's view equals it.
func TestSentinelFailoverWithWaitReplicasLosesNoAckedOp(t *testing.T) {
	master := redistest.Start(t)
	r1 := redistest.StartReplica(t, master)
	r2 := redistest.StartReplica(t, master)
	sentinels := redistest.StartSentinels(t, 3, redistest.FastSentinel, master, r1, r2)
	replicas := sentinelReplicas(t, sentinels, 1)
	paper := wstest.CreateOpenPaper(t, replicas[0].URL())
	progress := &ackProgress{}
	eds := failoverRun(t, replicas, paper.ID, progress, func() {
		progress.wait(t, 60, 20*time.Second)
		killed := time.Now()
		master.Kill()
		promoted := waitPromoted(t, sentinels[0], r1, r2)
		t.Logf("%s promoted %v after the kill", promoted.Addr(), time.Since(killed).Round(time.Millisecond))
		// Edits go on after the failover until another 60 are acked.
		progress.wait(t, progress.count()+60, 30*time.Second)
	})
	doc := settle(t, replicas, paper.ID, eds)
	els := wstest.Elements(doc.Elements)
	var lost []string
	for _, e := range eds {
		for _, ref := range e.acked {
			var got string
			if f, ok := els[ref]; !ok || json.Unmarshal(f["ref"], &got) != nil || got != ref {
				lost = append(lost, ref)
			}
		}
	}
	sort.Strings(lost)
	if len(lost) > 0 {
		t.Fatalf("%d of %d acked ops are not in the document: %v", len(lost), ackedCount(eds), lost)
	}
	for _, e := range eds {
		if len(e.v.Errors) > 0 || !reflect.DeepEqual(e.v.Els, els) {
			t.Fatalf("%s: stream errors %v; view equals GET: %v", e.user, e.v.Errors, reflect.DeepEqual(e.v.Els, els))
		}
	}
	t.Logf("%d acked ops, all kept; refusals %v", ackedCount(eds), refusals(eds))
}

// TestSentinelFailoverLossIsNeverPaperedOver: with redis.wait_replicas 0
// the replica's link is cut 0.5 s before the master is killed, so the ops
// acked in that time are lost when Sentinel promotes it. The loss must be
// visible, never papered over: every client ends with exactly the document
// GET serves (no client keeps a note the server no longer has), the
// clients that saw the lost ops were reset to a snapshot in a new epoch,
// and no client's stream ever carried a seq out of order or a resume over
// reused seqs.
func TestSentinelFailoverLossIsNeverPaperedOver(t *testing.T) {
	master := redistest.Start(t)
	replica := redistest.StartReplica(t, master)
	sentinels := redistest.StartSentinels(t, 3, redistest.FastSentinel, master, replica)
	replicas := sentinelReplicas(t, sentinels, 0)
	paper := wstest.CreateOpenPaper(t, replicas[0].URL())
	progress := &ackProgress{}
	eds := failoverRun(t, replicas, paper.ID, progress, func() {
		progress.wait(t, 60, 20*time.Second)
		thaw := redistest.CutReplication(t, master, replica)
		time.Sleep(500 * time.Millisecond)
		master.Kill()
		thaw()
		redistest.WaitForMaster(t, sentinels[0], replica, 30*time.Second)
		progress.wait(t, progress.count()+60, 30*time.Second)
	})
	doc := settle(t, replicas, paper.ID, eds)
	els := wstest.Elements(doc.Elements)
	lost := 0
	for _, e := range eds {
		for _, ref := range e.acked {
			if _, ok := els[ref]; !ok {
				lost++
			}
		}
	}
	if lost == 0 {
		t.Fatal("no acked op was lost: the cut did not cut, and this test proves nothing")
	}
	resets := 0
	for _, e := range eds {
		if len(e.v.Errors) > 0 {
			t.Errorf("%s: the stream carried reused seqs as if nothing happened: %v", e.user, e.v.Errors)
		}
		if !reflect.DeepEqual(e.v.Els, els) {
			var extra []string
			for id := range e.v.Els {
				if _, ok := els[id]; !ok {
					extra = append(extra, id)
				}
			}
			t.Errorf("%s: view differs from GET; notes the server no longer has: %v", e.user, extra)
		}
		if e.v.Epoch != doc.Epoch {
			t.Errorf("%s: ends in epoch %q, the paper's is %q", e.user, e.v.Epoch, doc.Epoch)
		}
		resets += e.resets
	}
	if doc.Epoch == paper.Epoch {
		t.Errorf("the paper kept its epoch %q across a loss", doc.Epoch)
	}
	if resets == 0 {
		t.Error("no client was reset to a snapshot")
	}
	t.Logf("%d acked ops, %d lost in the failover; %d resets to a snapshot; refusals %v", ackedCount(eds), lost, resets, refusals(eds))
}
