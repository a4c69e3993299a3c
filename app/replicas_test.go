package app_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/papercast/papercast/app"
	"github.com/papercast/papercast/internal/logtest"
	"github.com/papercast/papercast/internal/redistest"
	"github.com/papercast/papercast/internal/wstest"
)

// replicaConfig is a replica on a free loopback port against the given Redis.
func replicaConfig(addrs []string, mode, prefix string) app.Config {
	cfg := app.Defaults()
	cfg.Server.Addr = "127.0.0.1:0"
	cfg.Store = "redis"
	cfg.Redis.Addrs = addrs
	cfg.Redis.Mode = mode
	cfg.Redis.KeyPrefix = prefix
	cfg.Redis.Timeout = 5 * time.Second
	cfg.Presence.TTL = 2 * time.Second
	cfg.Presence.Heartbeat = 300 * time.Millisecond
	cfg.Limits.OpsPerSecond = 10000
	cfg.Limits.OpsBurst = 10000
	cfg.Server.ShutdownTimeout = 5 * time.Second
	// Three replicas, Redis (or a 3-node cluster) and 30 clients share two
	// cores under the race detector here: a write pump can be starved long
	// enough to overflow the default queue. Slow consumers have their own
	// test (delivery/ws TestStalledClientDoesNotSlowOthers).
	cfg.WS.SendBuffer = 2048
	// The scenarios here dial with ?user= and resume without a token, as
	// protocol v1 clients did; guest identity has its own tests
	// (identity_test.go). Replicas share one guest secret, as deployed ones do.
	cfg.Auth.TrustQueryUser = true
	cfg.Auth.GuestSecret = testGuestSecret
	return cfg
}

// testGuestSecret is the guest token secret of the test replicas.
const testGuestSecret = "papercast-test-guest-secret-0123456789"

func startReplicas(t *testing.T, n int, addrs []string, mode string) []*app.App {
	t.Helper()
	prefix := fmt.Sprintf("t%d:", time.Now().UnixNano())
	var out []*app.App
	for i := 0; i < n; i++ {
		out = append(out, startApp(t, replicaConfig(addrs, mode, prefix)))
	}
	return out
}

func startApp(t *testing.T, cfg app.Config) *app.App {
	t.Helper()
	a, _ := startAppLogging(t, cfg)
	return a
}

// startAppLogging is startApp that also returns the replica's log.
func startAppLogging(t *testing.T, cfg app.Config) (*app.App, *logtest.Buffer) {
	t.Helper()
	// The log is kept and printed when the test fails (or runs with -v):
	// a refusal on the wire says only "unavailable", its cause is logged.
	// Registered first, the print runs after the shutdown below.
	logs := &logtest.Buffer{}
	var addr string
	t.Cleanup(func() {
		if t.Failed() || testing.Verbose() {
			t.Logf("log of the replica at %s:\n%s", addr, logs.String())
		}
	})
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	a, err := app.New(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	addr = a.URL()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := a.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return a, logs
}

// converge runs the multi-replica scenario of issue 3: clients spread over
// replicas and papers edit at random, half of them drop mid-run and resume on
// another replica; every view must equal the document on every replica.
//
// Like papercast-client, a client dials again after a join refused with
// unavailable (and close 1013), and sends an edit again after an
// unavailable error, with backoff, up to retries attempts in all: a replica
// answers so when a store call outlasts its timeout, which the store calls
// here do when the machine is loaded (the cause is in the replicas' log).
// Every other refusal fails the test, and so does one retried too often.
func converge(t *testing.T, replicas []*app.App, clients, papers, opsEach int) {
	t.Helper()
	const retries = 5
	// Every answer comes within the store timeouts: an edit's within one
	// (redis.timeout), a join's within three (the paper's existence, the
	// room's subscription, the first frame's reads). The rest is for a
	// machine loaded enough to starve the replicas.
	const answerWait = 30 * time.Second
	next := func(client int, c *wstest.Client) wstest.Frame {
		f, err := c.NextErr(nil, answerWait)
		if err != nil {
			t.Fatalf("client %d: %v", client, err)
		}
		return f
	}
	var ids []string
	for i := 0; i < papers; i++ {
		// Everyone edits everyone's notes here: a whiteboard.
		ids = append(ids, wstest.CreateOpenPaper(t, replicas[0].URL()).ID)
	}
	// Every connection is closed however converge ends, so that after a
	// failure the replicas are still checked for what they left behind,
	// not for clients that are still there.
	var (
		mu    sync.Mutex
		conns []*wstest.Client
	)
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Conn.Close()
		}
	}()
	// dial opens a session and returns it with its first frame.
	dial := func(client int, base, paperID string, q url.Values) (*wstest.Client, wstest.Frame) {
		backoff := 250 * time.Millisecond
		for attempt := 1; ; attempt++ {
			c := wstest.MustDial(t, base, paperID, q)
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			f := next(client, c)
			if f.Type == "error" && f.Code == "unavailable" && attempt < retries {
				if code := c.WaitClosed(); code != 1013 {
					t.Errorf("client %d: join refused with %s, then close %d, want 1013", client, f.Raw, code)
				}
				t.Logf("client %d: join refused, dialing again in %s: %s", client, backoff, f.Raw)
				time.Sleep(backoff)
				backoff *= 2
				continue
			}
			if f.Type != "snapshot" && f.Type != "resumed" {
				t.Fatalf("client %d: first frame is not a snapshot or resumed: %s", client, f.Raw)
			}
			return c, f
		}
	}
	type state struct {
		paper  string
		viewer *wstest.Viewer
		conn   *wstest.Client
		seen   map[uint64]bool
	}
	states := make([]*state, clients)
	var wg sync.WaitGroup
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 99))
			st := &state{paper: ids[i%papers], viewer: wstest.NewViewer(), seen: map[uint64]bool{}}
			states[i] = st
			apply := func(f wstest.Frame) {
				st.viewer.Apply(f)
				if f.Type == "op" {
					st.seen[f.Seq] = true
				}
			}
			replica := (i / papers) % len(replicas)
			c, first := dial(i, replicas[replica].URL(), st.paper, wstest.Q("user", fmt.Sprint("u", i)))
			apply(first)
			for n := 0; n < opsEach; n++ {
				if n == opsEach/2 && i%2 == 0 {
					c.Conn.Close()
					for _, f := range c.Drain() {
						apply(f)
					}
					replica = (replica + 1) % len(replicas)
					c, first = dial(i, replicas[replica].URL(), st.paper,
						wstest.Q("since", fmt.Sprint(st.viewer.Seq), "epoch", st.viewer.Epoch))
					apply(first)
				}
				id := fmt.Sprint("n", rng.IntN(8))
				op := map[string]any{"type": "delete", "id": id}
				if rng.IntN(5) != 0 {
					fields := map[string]any{"x": rng.IntN(1000), "who": i, "text": strings.Repeat("a", rng.IntN(20))}
					if rng.IntN(4) == 0 {
						fields["color"] = nil
					}
					op = wstest.Upsert("", id, fields)
				}
				backoff := 250 * time.Millisecond
				for attempt := 1; ; attempt++ {
					ref := fmt.Sprint(i, "-", n, "-", attempt)
					op["ref"] = ref
					c.Send(op)
					var f wstest.Frame
					for f.Ref != ref || f.Type != "ack" && f.Type != "error" {
						f = next(i, c)
						apply(f)
					}
					if f.Type == "error" && f.Code == "unavailable" && attempt < retries {
						t.Logf("client %d: edit refused, sending it again in %s: %s", i, backoff, f.Raw)
						time.Sleep(backoff)
						backoff *= 2
						continue
					}
					if f.Type == "error" && f.Code != "not_found" {
						t.Errorf("client %d: op refused: %s", i, f.Raw)
					}
					break
				}
			}
			st.conn = c
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for _, id := range ids {
		var want wstest.Document
		for r, rep := range replicas {
			doc := wstest.GetDocument(t, rep.URL(), id)
			if r == 0 {
				want = doc
				continue
			}
			if !reflect.DeepEqual(doc, want) {
				t.Fatalf("paper %s: replica %d's document differs from replica 0's", id, r)
			}
		}
		els := wstest.Elements(want.Elements)
		for i, st := range states {
			if st.paper != id {
				continue
			}
			for st.viewer.Seq < want.Seq {
				f := st.conn.Next(nil)
				st.viewer.Apply(f)
				if f.Type == "op" {
					st.seen[f.Seq] = true
				}
			}
			if len(st.viewer.Errors) > 0 {
				t.Errorf("client %d stream: %v", i, st.viewer.Errors)
			}
			if st.viewer.Seq != want.Seq || !reflect.DeepEqual(st.viewer.Els, els) {
				t.Errorf("client %d: view at seq %d differs from the document at %d", i, st.viewer.Seq, want.Seq)
			}
			for ref, seq := range st.viewer.Acked {
				if !st.seen[seq] && seq > 0 {
					t.Errorf("client %d: ack %s at seq %d never arrived as an op", i, ref, seq)
				}
			}
		}
	}
}

// waitNoRooms waits until no replica holds a room.
func waitNoRooms(t *testing.T, replicas []*app.App) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, r := range replicas {
		for {
			rooms, n := r.Hub().Stats()
			if len(rooms) == 0 && n == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("replica %s still has %d rooms, %d sessions", r.URL(), len(rooms), n)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func TestReplicasConvergeOnStandaloneRedis(t *testing.T) {
	srv := redistest.Start(t)
	replicas := startReplicas(t, 3, []string{srv.Addr()}, "standalone")
	converge(t, replicas, 30, 3, 40)
	waitNoRooms(t, replicas)
	if ch, err := srv.Do("PUBSUB", "CHANNELS", "*"); err != nil || strings.TrimSpace(ch) != "" {
		t.Fatalf("subscriptions left behind: %q %v", ch, err)
	}
}

func TestReplicasConvergeOnRedisCluster(t *testing.T) {
	cluster := redistest.StartCluster(t)
	replicas := startReplicas(t, 3, cluster.Addrs(), "cluster")
	converge(t, replicas, 30, 3, 40)
	waitNoRooms(t, replicas)
	for _, n := range cluster.Nodes {
		if ch, err := n.Do("PUBSUB", "SHARDCHANNELS", "*"); err != nil || strings.TrimSpace(ch) != "" {
			t.Fatalf("node %s: shard subscriptions left behind: %q %v", n.Addr(), ch, err)
		}
	}
}
