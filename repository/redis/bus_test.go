package redis_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/internal/redistest"
	"github.com/papercast/papercast/repository/redis"
	"github.com/papercast/papercast/usecase"
)

// TestUnsubscribeLeavesNoRedisSubscription: the Redis subscription of a
// paper lives exactly as long as its last local listener; afterwards
// PUBSUB CHANNELS no longer lists it, at once.
func TestUnsubscribeLeavesNoRedisSubscription(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	s := newStore(t, redis.Options{Addrs: []string{srv.Addr()}})
	hygiene(t, s, func(t testing.TB) []string { return channels(t, srv, "PUBSUB", "CHANNELS") })
}

// TestUnsubscribeLeavesNoShardSubscription: the same on a cluster with
// sharded pub/sub; each paper's channel lives on one shard only.
func TestUnsubscribeLeavesNoShardSubscription(t *testing.T) {
	t.Parallel()
	c := redistest.StartCluster(t)
	s := newStore(t, redis.Options{Addrs: c.Addrs(), Mode: redis.ModeCluster})
	if !s.Sharded() {
		t.Fatal("a cluster store does not use sharded pub/sub")
	}
	hygiene(t, s, func(t testing.TB) []string {
		var all []string
		for _, n := range c.Nodes {
			if got := channels(t, n, "PUBSUB", "CHANNELS"); len(got) > 0 {
				t.Fatalf("classic pub/sub channels on %s: %q", n.Addr(), got)
			}
			all = append(all, channels(t, n, "PUBSUB", "SHARDCHANNELS")...)
		}
		return all
	})
}

func hygiene(t *testing.T, s *redis.Store, list func(testing.TB) []string) {
	ctx := context.Background()
	p := newPaper(t, s)
	ch := s.Channel(p.ID)

	h1, h2 := newHandler(), newHandler()
	unsub1, err := s.Subscribe(ctx, p.ID, h1)
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	unsub2, err := s.Subscribe(ctx, p.ID, h2)
	if err != nil {
		t.Fatalf("second Subscribe of the paper: %v", err)
	}
	if got := list(t); !slices.Equal(got, []string{ch}) {
		t.Fatalf("two listeners: channels %q, want one Redis subscription %s", got, ch)
	}
	unsub1()
	unsub1() // a second call does nothing
	if got := list(t); !slices.Equal(got, []string{ch}) {
		t.Fatalf("one listener left: channels %q, want %s", got, ch)
	}
	h2.waitFrame(t, apply(t, s, p.ID, upsert("n1", "v", "1")), 5*time.Second)
	unsub2()
	if got := list(t); len(got) != 0 {
		t.Fatalf("after the last unsubscribe: channels %q, want none", got)
	}
	if n := s.Subscriptions(); n != 0 {
		t.Fatalf("store still holds %d subscriptions", n)
	}

	// Many papers, subscribed and unsubscribed concurrently, some twice
	// and some flapping: nothing is left behind.
	ids := make([]string, 40)
	for i := range ids {
		ids[i] = usecase.NewPaperID()
	}
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() {
			for range 1 + i%3 {
				unsub, err := s.Subscribe(ctx, id, newHandler())
				if err != nil {
					t.Errorf("Subscribe %s: %v", id, err)
					return
				}
				defer unsub()
			}
		})
		wg.Go(func() {
			for range 5 {
				unsub, err := s.Subscribe(ctx, id, newHandler())
				if err != nil {
					t.Errorf("Subscribe %s: %v", id, err)
					return
				}
				unsub()
			}
		})
	}
	wg.Wait()
	if got := list(t); len(got) != 0 {
		t.Fatalf("after concurrent subscribes and unsubscribes: %d channels left: %q", len(got), got)
	}
	if n := s.Subscriptions(); n != 0 {
		t.Fatalf("store still holds %d subscriptions", n)
	}

	// A Subscribe that gives up (its context is done) leaves nothing either.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Subscribe(cctx, p.ID, newHandler()); !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("Subscribe with a canceled context: %v, want ErrUnavailable", err)
	}
	eventually(t, 2*time.Second, "no subscription after a canceled Subscribe", func() bool {
		return len(list(t)) == 0 && s.Subscriptions() == 0
	})
}

// TestSlowHandlerDelaysNoOne: a handler that blocks holds up neither other
// listeners of its paper nor other papers; once released it gets its
// events in order.
func TestSlowHandlerDelaysNoOne(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	s := newStore(t, redis.Options{Addrs: []string{srv.Addr()}})
	ctx := context.Background()
	pa, pb := newPaper(t, s), newPaper(t, s)
	slow, fast, other := newHandler(), newHandler(), newHandler()
	slow.block = make(chan struct{})
	for _, sub := range []struct {
		id string
		h  *handler
	}{{pa.ID, slow}, {pa.ID, fast}, {pb.ID, other}} {
		unsub, err := s.Subscribe(ctx, sub.id, sub.h)
		if err != nil {
			t.Fatalf("Subscribe: %v", err)
		}
		defer unsub()
	}
	var want [][]byte
	for i := range 50 {
		want = append(want, apply(t, s, pa.ID, upsert("n1", "v", fmt.Sprint(i))))
	}
	fast.waitFrame(t, want[len(want)-1], 5*time.Second)
	other.waitFrame(t, apply(t, s, pb.ID, upsert("n1", "v", "1")), 5*time.Second)
	close(slow.block)
	slow.waitFrame(t, want[len(want)-1], 5*time.Second)
	if got := slow.all(); !slices.EqualFunc(got, want, bytesEqual) {
		t.Fatalf("slow handler got %d frames out of order or with gaps", len(got))
	}
}

// TestHandlerFarBehindGetsAResyncInsteadOfUnboundedMemory: a handler that
// stops for longer than the bus buffers loses its backlog and is told to
// resync; newer events follow.
func TestHandlerFarBehindGetsAResyncInsteadOfUnboundedMemory(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	s := newStore(t, redis.Options{Addrs: []string{srv.Addr()}})
	ctx := context.Background()
	p := newPaper(t, s)
	h := newHandler()
	h.block = make(chan struct{})
	unsub, err := s.Subscribe(ctx, p.ID, h)
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	defer unsub()
	// A second listener shows when every message has been read and queued
	// (each message is queued for all listeners at once).
	witness := newHandler()
	unsubW, err := s.Subscribe(ctx, p.ID, witness)
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	defer unsubW()

	raw, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{srv.Addr()}, DisableCache: true, ForceSingleClient: true})
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	const n = 10000 // well over the bus's per-listener buffer
	cmds := make(rueidis.Commands, 0, n)
	for i := range n {
		cmds = append(cmds, raw.B().Publish().Channel(s.Channel(p.ID)).Message(fmt.Sprintf(`{"type":"x","n":%d}`, i)).Build())
	}
	for _, r := range raw.DoMulti(ctx, cmds...) {
		if err := r.Error(); err != nil {
			t.Fatal(err)
		}
	}
	last := []byte(fmt.Sprintf(`{"type":"x","n":%d}`, n-1))
	witness.waitFrame(t, last, 10*time.Second)
	close(h.block)
	h.waitFrame(t, last, 10*time.Second)
	if h.resyncs.Load() == 0 {
		t.Fatalf("a handler that fell behind was not told to resync (got %d frames)", len(h.all()))
	}
	if got := len(h.all()); got >= n {
		t.Fatalf("handler got all %d frames: the backlog was not bounded", got)
	}
}

// TestUnsubscribeFromInsideTheHandler does not deadlock.
func TestUnsubscribeFromInsideTheHandler(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	s := newStore(t, redis.Options{Addrs: []string{srv.Addr()}})
	ctx := context.Background()
	p := newPaper(t, s)
	done := make(chan struct{})
	var unsub func()
	var mu sync.Mutex
	h := handlerFunc(func([]byte) {
		mu.Lock()
		u := unsub
		mu.Unlock()
		u()
		close(done)
	})
	mu.Lock()
	var err error
	unsub, err = s.Subscribe(ctx, p.ID, h)
	mu.Unlock()
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	apply(t, s, p.ID, upsert("n1", "v", "1"))
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("unsubscribing from the handler hung")
	}
	if got := channels(t, srv, "PUBSUB", "CHANNELS"); len(got) != 0 {
		t.Fatalf("channels left: %q", got)
	}
}

// TestClosedStoreRefusesAndStopsDelivering.
func TestClosedStoreRefusesAndStopsDelivering(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	s, err := redis.New(context.Background(), redis.Options{Addrs: []string{srv.Addr()}}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p := newPaper(t, s)
	unsub, err := s.Subscribe(ctx, p.ID, newHandler())
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	s.Close()
	s.Close()
	unsub() // after Close: does nothing, does not hang
	if err := s.Ready(ctx); !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("Ready after Close: %v", err)
	}
	if _, err := s.Subscribe(ctx, p.ID, newHandler()); !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("Subscribe after Close: %v", err)
	}
	if _, err := s.Paper(ctx, p.ID); !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("Paper after Close: %v", err)
	}
	eventually(t, 2*time.Second, "connections closed", func() bool {
		return len(channels(t, srv, "PUBSUB", "CHANNELS")) == 0
	})
}

type handlerFunc func([]byte)

func (f handlerFunc) Event(b []byte) { f(b) }
func (handlerFunc) Resync()          {}

func bytesEqual(a, b []byte) bool { return string(a) == string(b) }

// TestAllPapersShareOnePubSubConnection: a replica holds one pub/sub
// connection to a standalone Redis, however many papers it follows, and
// that connection carries no commands.
func TestAllPapersShareOnePubSubConnection(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	s := newStore(t, redis.Options{Addrs: []string{srv.Addr()}})
	ctx := context.Background()
	for range 20 {
		p := newPaper(t, s)
		unsub, err := s.Subscribe(ctx, p.ID, newHandler())
		if err != nil {
			t.Fatalf("Subscribe: %v", err)
		}
		defer unsub()
		apply(t, s, p.ID, upsert("n1", "v", "1"))
	}
	clients := slices.DeleteFunc(channels(t, srv, "CLIENT", "LIST", "TYPE", "pubsub"), func(l string) bool { return l == "" })
	if len(clients) != 1 || !strings.Contains(clients[0], "sub=20") {
		t.Fatalf("pub/sub connections: %q, want one with 20 subscriptions", clients)
	}
	if strings.Contains(clients[0], "cmd=evalsha") || strings.Contains(clients[0], "cmd=eval ") {
		t.Fatalf("the pub/sub connection ran commands: %s", clients[0])
	}
}
