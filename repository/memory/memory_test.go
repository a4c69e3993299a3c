package memory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/paper"
	"github.com/papercast/papercast/protocol"
	"github.com/papercast/papercast/repository/storetest"
	"github.com/papercast/papercast/usecase"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// clock is a settable clock for presence expiry.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newTestStore(t testing.TB, o Options) *Store {
	s := New(o)
	t.Cleanup(s.Close)
	return s
}

// TestContract runs the shared store contract with a fake presence clock.
func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Env {
		clk := newClock()
		const ttl = 30 * time.Second
		const idle = 24 * time.Hour
		s := newTestStore(t, Options{Limits: storetest.SmallLimits(), HistorySize: storetest.SmallHistory, PresenceTTL: ttl, OpenIdle: idle, Now: clk.Now})
		return storetest.Env{
			Store: s, Presence: s, Bus: s, Queue: s,
			Limits: storetest.SmallLimits(), HistorySize: storetest.SmallHistory, PresenceTTL: ttl, OpenIdle: idle,
			Advance: clk.Advance,
		}
	})
}

// TestContractRealClock runs the contract again on the real clock, the way
// the Redis store runs it, and with production field and byte limits: it
// proves the suite's real-time presence path and its boundary cases at
// those sizes (only MaxElements is lowered, to keep the run short).
func TestContractRealClock(t *testing.T) {
	if testing.Short() {
		t.Skip("sleeps through presence TTLs")
	}
	limits := paper.DefaultLimits()
	limits.MaxElements = 100
	storetest.Run(t, func(t *testing.T) storetest.Env {
		const ttl, hist = 300 * time.Millisecond, 64
		idle := storetest.RetentionIdle(t)
		s := newTestStore(t, Options{Limits: limits, HistorySize: hist, PresenceTTL: ttl, OpenIdle: idle})
		return storetest.Env{
			Store: s, Presence: s, Bus: s, Queue: s,
			Limits: limits, HistorySize: hist, PresenceTTL: ttl, OpenIdle: idle,
		}
	})
}

func TestNewFillsDefaults(t *testing.T) {
	s := newTestStore(t, Options{})
	d := DefaultOptions()
	if s.limits != d.Limits || s.historySize != d.HistorySize || s.ttl != d.PresenceTTL || s.openIdle != d.OpenIdle || s.now == nil {
		t.Fatalf("defaults not applied: limits %+v history %d ttl %v", s.limits, s.historySize, s.ttl)
	}
}

func TestClosedStoreIsUnavailable(t *testing.T) {
	s := New(Options{})
	ctx := t.Context()
	p, err := s.Create(ctx, domain.Paper{ID: "p1", Title: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Subscribe(ctx, p.ID, nopHandler{}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s.Close() // twice is harmless
	checks := map[string]error{
		"Ping":      s.Ping(ctx),
		"Ready":     s.Ready(ctx),
		"Create":    second(s.Create(ctx, domain.Paper{ID: "p2"})),
		"Paper":     second(s.Paper(ctx, p.ID)),
		"Snapshot":  second(s.Snapshot(ctx, p.ID)),
		"Apply":     second(s.Apply(ctx, p.ID, domain.Op{Kind: domain.OpUpsert, ID: "n", Fields: map[string]json.RawMessage{"a": json.RawMessage("1")}}, nil, usecase.OpOrder{}, usecase.Editor{})),
		"Finalize":  second(s.Finalize(ctx, p.ID, time.Now())),
		"Delete":    s.Delete(ctx, p.ID),
		"Subscribe": second(s.Subscribe(ctx, p.ID, nopHandler{})),
		"Set":       s.SetPresence(ctx, p.ID, domain.Presence{Session: "s"}, protocol.PresenceJoin),
		"List":      second(s.ListPresence(ctx, p.ID)),
	}
	for name, err := range checks {
		if !errors.Is(err, domain.ErrUnavailable) {
			t.Errorf("%s after Close: %v, want ErrUnavailable", name, err)
		}
	}
	_, _, err = s.History(ctx, p.ID, p.Epoch, 0)
	if !errors.Is(err, domain.ErrUnavailable) {
		t.Errorf("History after Close: %v", err)
	}
}

func second[T any](_ T, err error) error { return err }

type nopHandler struct{}

func (nopHandler) Event([]byte) {}
func (nopHandler) Resync()      {}

// funcHandler adapts a function to usecase.BusHandler.
type funcHandler func([]byte)

func (f funcHandler) Event(b []byte) { f(b) }
func (funcHandler) Resync()          {}

func upsert(id, field, value string) domain.Op {
	return domain.Op{Kind: domain.OpUpsert, ID: id, Fields: map[string]json.RawMessage{field: json.RawMessage(value)}}
}

func mustCreate(t testing.TB, s *Store, id string) domain.Paper {
	t.Helper()
	p, err := s.Create(context.Background(), domain.Paper{ID: id, Title: "t", Status: domain.StatusOpen})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// A handler runs with no store lock held, so it may apply ops and even
// unsubscribe itself from inside Event without deadlock.
func TestHandlerMayCallBackIntoTheStore(t *testing.T) {
	s := newTestStore(t, Options{})
	ctx := t.Context()
	mustCreate(t, s, "p1")
	mustCreate(t, s, "p2")
	var unsub func()
	got := make(chan string, 10)
	var once sync.Once
	h := funcHandler(func(frame []byte) {
		_, seq, _ := protocol.EventHeader(frame)
		if seq == 1 {
			// Same paper: this takes the paper lock the publisher held.
			if _, err := s.Apply(ctx, "p1", upsert("n", "a", "2"), []byte(`"op":"x"}`), usecase.OpOrder{}, usecase.Editor{}); err != nil {
				t.Errorf("Apply from handler: %v", err)
			}
			if _, err := s.Snapshot(ctx, "p1"); err != nil {
				t.Errorf("Snapshot from handler: %v", err)
			}
		}
		if seq == 2 {
			once.Do(unsub)
		}
		got <- string(frame)
	})
	var err error
	unsub, err = s.Subscribe(ctx, "p1", h)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Apply(ctx, "p1", upsert("n", "a", "1"), []byte(`"op":"x"}`), usecase.OpOrder{}, usecase.Editor{}); err != nil {
		t.Fatal(err)
	}
	for want := uint64(1); want <= 2; want++ {
		select {
		case f := <-got:
			if _, seq, _ := protocol.EventHeader([]byte(f)); seq != want {
				t.Fatalf("got %s, want seq %d", f, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no frame %d: deadlock?", want)
		}
	}
	// Unsubscribed from inside the handler: seq 3 is not delivered.
	if _, err := s.Apply(ctx, "p1", upsert("n", "a", "3"), []byte(`"op":"x"}`), usecase.OpOrder{}, usecase.Editor{}); err != nil {
		t.Fatal(err)
	}
	select {
	case f := <-got:
		t.Fatalf("got %s after unsubscribing", f)
	case <-time.After(50 * time.Millisecond):
	}
}

// A handler that blocks (breaking its contract) delays only its own
// deliveries: Apply and other subscribers go on.
func TestBlockedHandlerDoesNotBlockApplyOrOthers(t *testing.T) {
	s := newTestStore(t, Options{})
	ctx := t.Context()
	mustCreate(t, s, "p1")
	release := make(chan struct{})
	var slow []string
	var mu sync.Mutex
	_, err := s.Subscribe(ctx, "p1", funcHandler(func(f []byte) {
		<-release
		mu.Lock()
		slow = append(slow, string(f))
		mu.Unlock()
	}))
	if err != nil {
		t.Fatal(err)
	}
	fast := make(chan []byte, 100)
	if _, err := s.Subscribe(ctx, "p1", funcHandler(func(f []byte) { fast <- f })); err != nil {
		t.Fatal(err)
	}
	const n = 50
	done := make(chan error, 1)
	go func() {
		for i := range n {
			if _, err := s.Apply(ctx, "p1", upsert("n", "a", fmt.Sprint(i)), []byte(`"op":"x"}`), usecase.OpOrder{}, usecase.Editor{}); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Apply blocked behind a blocked handler")
	}
	for i := range n {
		select {
		case <-fast:
		case <-time.After(5 * time.Second):
			t.Fatalf("fast subscriber stuck at frame %d", i)
		}
	}
	close(release)
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		k := len(slow)
		mu.Unlock()
		if k == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slow subscriber got %d of %d frames", k, n)
		}
		time.Sleep(time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	for i, f := range slow {
		if _, seq, _ := protocol.EventHeader([]byte(f)); seq != uint64(i+1) {
			t.Fatalf("slow subscriber frame %d has seq %d", i, seq)
		}
	}
}

// Nothing per paper outlives its use: deleted papers, emptied presence
// rooms and topics without subscribers leave no entries behind.
func TestPerPaperStateIsFreed(t *testing.T) {
	clk := newClock()
	s := newTestStore(t, Options{PresenceTTL: time.Second, Now: clk.Now})
	ctx := t.Context()
	for i := range 20 {
		id := fmt.Sprintf("p%d", i)
		mustCreate(t, s, id)
		unsub, err := s.Subscribe(ctx, id, nopHandler{})
		if err != nil {
			t.Fatal(err)
		}
		unsub2, err := s.Subscribe(ctx, id, nopHandler{})
		if err != nil {
			t.Fatal(err)
		}
		a := domain.Presence{Session: "a", State: json.RawMessage(`{}`)}
		b := domain.Presence{Session: "b", State: json.RawMessage(`{}`)}
		if err := s.SetPresence(ctx, id, a, protocol.PresenceJoin); err != nil {
			t.Fatal(err)
		}
		if err := s.SetPresence(ctx, id, b, protocol.PresenceJoin); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Apply(ctx, id, upsert("n", "a", "1"), []byte(`"op":"x"}`), usecase.OpOrder{}, usecase.Editor{}); err != nil {
			t.Fatal(err)
		}
		switch i % 3 {
		case 0: // sessions leave cleanly
			_ = s.RemovePresence(ctx, id, a)
			_ = s.RemovePresence(ctx, id, b)
		case 1: // sessions vanish and expire
			clk.Advance(2 * time.Second)
			_ = s.TouchPresence(ctx, []usecase.PresenceTouch{{PaperID: id}})
		case 2: // the paper is deleted with people on it
			if err := s.Delete(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
		unsub()
		unsub2()
		unsub2() // twice is harmless
	}
	s.mu.RLock()
	papers := len(s.papers)
	s.mu.RUnlock()
	s.presMu.Lock()
	rooms := len(s.rooms)
	s.presMu.Unlock()
	s.busMu.RLock()
	topics := len(s.topics)
	s.busMu.RUnlock()
	if papers != 14 || rooms != 0 || topics != 0 {
		t.Fatalf("left behind: %d papers (want 14), %d presence rooms, %d topics", papers, rooms, topics)
	}
}

func TestHistoryRing(t *testing.T) {
	cases := []struct {
		name   string
		size   int
		pushed int
		since  uint64
		want   []uint64 // nil with ok false
		ok     bool
	}{
		{"Empty", 4, 0, 0, []uint64{}, true},
		{"PartlyFilledFromZero", 4, 3, 0, []uint64{1, 2, 3}, true},
		{"FullFromZero", 4, 4, 0, []uint64{1, 2, 3, 4}, true},
		{"WrappedOldestKept", 4, 10, 6, []uint64{7, 8, 9, 10}, true},
		{"WrappedTail", 4, 10, 8, []uint64{9, 10}, true},
		{"WrappedTooOld", 4, 10, 5, nil, false},
		{"WrappedAtCurrent", 4, 10, 10, []uint64{}, true},
		{"SizeOne", 1, 5, 4, []uint64{5}, true},
		{"SizeOneTooOld", 1, 5, 3, nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := history{size: c.size}
			for i := 1; i <= c.pushed; i++ {
				h.push(domain.Event{Seq: uint64(i)})
			}
			evs, ok := h.since(c.since, uint64(c.pushed))
			if ok != c.ok {
				t.Fatalf("ok %v, want %v", ok, c.ok)
			}
			got := make([]uint64, 0, len(evs))
			for _, ev := range evs {
				got = append(got, ev.Seq)
			}
			if c.ok && fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Fatalf("seqs %v, want %v", got, c.want)
			}
			if len(h.buf) > c.size {
				t.Fatalf("ring holds %d events, size %d", len(h.buf), c.size)
			}
		})
	}
}

var _ usecase.BusHandler = nopHandler{}

// BenchmarkApply measures one upsert through the store, with one
// subscriber receiving every frame: merge, seq, history, publish.
func BenchmarkApply(b *testing.B) {
	ctx := context.Background()
	by := domain.Author{Session: "s", User: "u", Name: "n"}
	b.Run("OnePaper", func(b *testing.B) {
		s := newTestStore(b, Options{})
		mustCreate(b, s, "p")
		unsub, err := s.Subscribe(ctx, "p", nopHandler{})
		if err != nil {
			b.Fatal(err)
		}
		defer unsub()
		ops := benchOps(by)
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			o := ops[i%len(ops)]
			if _, err := s.Apply(ctx, "p", o.op, o.body, usecase.OpOrder{}, usecase.Editor{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ParallelPapers", func(b *testing.B) {
		s := newTestStore(b, Options{})
		var mu sync.Mutex
		next := 0
		ops := benchOps(by)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			mu.Lock()
			id := fmt.Sprintf("p%d", next)
			next++
			mu.Unlock()
			mustCreate(b, s, id)
			unsub, err := s.Subscribe(ctx, id, nopHandler{})
			if err != nil {
				b.Error(err)
				return
			}
			defer unsub()
			for i := 0; pb.Next(); i++ {
				o := ops[i%len(ops)]
				if _, err := s.Apply(ctx, id, o.op, o.body, usecase.OpOrder{}, usecase.Editor{}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

type benchOp struct {
	op   domain.Op
	body []byte
}

// benchOps is a typing-and-moving workload over 100 notes.
func benchOps(by domain.Author) []benchOp {
	var out []benchOp
	for i := range 100 {
		op := domain.Op{Kind: domain.OpUpsert, ID: fmt.Sprintf("n%d", i), Fields: map[string]json.RawMessage{
			"text": json.RawMessage(fmt.Sprintf(`"Happy birthday, dear friend number %d!"`, i)),
			"x":    json.RawMessage(fmt.Sprint(i * 7)),
			"y":    json.RawMessage(fmt.Sprint(i * 3)),
		}}
		out = append(out, benchOp{op, protocol.OpBody(op, by)})
	}
	return out
}

// A paper remembers each session's last applied op (usecase.OpOrder) for
// usecase.OpOrderMemory, then forgets it: sessions come and go for the
// paper's whole life, and what it remembers stays bounded by the sessions
// of the last OpOrderMemory.
func TestSessionOrderIsForgottenAfterOpOrderMemory(t *testing.T) {
	clk := newClock()
	s := newTestStore(t, Options{Now: clk.Now})
	ctx := t.Context()
	mustCreate(t, s, "p")
	apply := func(session string, n uint64) error {
		_, err := s.Apply(ctx, "p", upsert("n", "a", "1"), []byte(`"op":"x"}`), usecase.OpOrder{Session: session, N: n}, usecase.Editor{})
		return err
	}
	remembered := func() int {
		p, err := s.lookup("p")
		if err != nil {
			t.Fatal(err)
		}
		defer p.mu.Unlock()
		return len(p.order.last)
	}
	for i := range 3 * minSweep {
		if err := apply(fmt.Sprintf("old%d", i), 5); err != nil {
			t.Fatal(err)
		}
	}
	if err := apply("old0", 4); !errors.Is(err, usecase.ErrStaleOp) {
		t.Fatalf("op 4 of old0 after its op 5: %v, want ErrStaleOp", err)
	}
	clk.Advance(usecase.OpOrderMemory + time.Second)
	for i := range minSweep {
		if err := apply(fmt.Sprintf("new%d", i), 1); err != nil {
			t.Fatal(err)
		}
	}
	if n := remembered(); n > 2*minSweep {
		t.Fatalf("%d sessions remembered after the old ones went quiet for OpOrderMemory, want at most %d", n, 2*minSweep)
	}
	if err := apply("new0", 1); !errors.Is(err, usecase.ErrStaleOp) {
		t.Fatalf("a recent session was forgotten: %v", err)
	}
}
