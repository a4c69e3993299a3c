package usecase_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/paper"
	"github.com/papercast/papercast/protocol"
	"github.com/papercast/papercast/repository/memory"
	"github.com/papercast/papercast/usecase"
)

// Steps of a join that faultyStore can make fail.
const (
	failSubscribe = "subscribe"
	failJoin      = "presence join"
	failSnapshot  = "snapshot"
	failHistory   = "history"
	failList      = "presence list"
)

// faultyStore is a memory store (papers, presence and bus) whose chosen
// step fails as an unreachable store does: at once, or (stall) when the
// call's context ends, as a store too slow to answer in time.
type faultyStore struct {
	*memory.Store
	mu    sync.Mutex
	fail  string
	stall bool
	subs  int // subscriptions made and not yet ended
}

func (f *faultyStore) failing(ctx context.Context, step string) error {
	f.mu.Lock()
	fail, stall := f.fail == step, f.stall
	f.mu.Unlock()
	switch {
	case !fail:
		return nil
	case stall:
		<-ctx.Done()
		return fmt.Errorf("%s: %w: %w", step, domain.ErrUnavailable, ctx.Err())
	}
	return fmt.Errorf("%s: %w: injected", step, domain.ErrUnavailable)
}

func (f *faultyStore) set(step string, stall bool) {
	f.mu.Lock()
	f.fail, f.stall = step, stall
	f.mu.Unlock()
}

func (f *faultyStore) Subscribe(ctx context.Context, id string, h usecase.BusHandler) (func(), error) {
	if err := f.failing(ctx, failSubscribe); err != nil {
		return nil, err
	}
	unsub, err := f.Store.Subscribe(ctx, id, h)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.subs++
	f.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			unsub()
			f.mu.Lock()
			f.subs--
			f.mu.Unlock()
		})
	}, nil
}

func (f *faultyStore) subscriptions() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.subs
}

func (f *faultyStore) SetPresence(ctx context.Context, id string, p domain.Presence, event string) error {
	if event == protocol.PresenceJoin {
		if err := f.failing(ctx, failJoin); err != nil {
			return err
		}
	}
	return f.Store.SetPresence(ctx, id, p, event)
}

func (f *faultyStore) Snapshot(ctx context.Context, id string) (domain.Document, error) {
	if err := f.failing(ctx, failSnapshot); err != nil {
		return domain.Document{}, err
	}
	return f.Store.Snapshot(ctx, id)
}

func (f *faultyStore) History(ctx context.Context, id, epoch string, since uint64) ([]domain.Event, uint64, error) {
	if err := f.failing(ctx, failHistory); err != nil {
		return nil, 0, err
	}
	return f.Store.History(ctx, id, epoch, since)
}

func (f *faultyStore) ListPresence(ctx context.Context, id string) ([]domain.Presence, error) {
	if err := f.failing(ctx, failList); err != nil {
		return nil, err
	}
	return f.Store.ListPresence(ctx, id)
}

// newFaultyEnv is a hub on a faultyStore (through bus, if not nil) and a
// paper.
func newFaultyEnv(t *testing.T, bus *lossyBus, opts usecase.HubOptions) (*faultyStore, *usecase.Hub, domain.Paper) {
	t.Helper()
	st := &faultyStore{Store: memory.New(memory.Options{HistorySize: 50, PresenceTTL: time.Minute})}
	var b usecase.Bus = st
	if bus != nil {
		bus.Bus = st
		b = bus
	}
	hub := usecase.NewHub(st, st, b, paper.DefaultLimits(), opts, nil, quiet)
	t.Cleanup(func() {
		hub.Close()
		st.Close()
	})
	p, _, err := usecase.NewPapers(st, st, paper.DefaultLimits()).Create(context.Background(), "t", "", "")
	if err != nil {
		t.Fatal(err)
	}
	return st, hub, p
}

// failingSink cannot write its first frames (the client is gone).
type failingSink struct{ *sink }

func (failingSink) Start([][]byte) error { return errors.New("write first frames: broken pipe") }

// TestFailedJoinLeavesNothingBehind: a join that fails at any step (the
// store, the bus or the client failing) takes back everything it took: its
// place in the room, the room itself when it was the only one, the room's
// subscription, and its presence entry. A session already in the room goes
// on undisturbed.
func TestFailedJoinLeavesNothingBehind(t *testing.T) {
	tests := []struct {
		step   string // faultyStore step; "" with a failing sink
		resume bool
		stall  bool
	}{
		{failSubscribe, false, false},
		{failSubscribe, false, true},
		{failJoin, false, false},
		{failJoin, false, true},
		{failSnapshot, false, false},
		{failHistory, true, false},
		{failHistory, true, true},
		{failList, false, false},
		{failList, true, false},
		{"", false, false}, // the client cannot take its first frames
	}
	for _, tt := range tests {
		for _, beside := range []bool{false, true} {
			if beside && tt.step == failSubscribe {
				continue // a room with a live session is subscribed already
			}
			name := tt.step
			if name == "" {
				name = "start"
			}
			if tt.resume {
				name += ", resume"
			}
			if tt.stall {
				name += ", too slow"
			}
			if beside {
				name += ", beside a live session"
			}
			t.Run(name, func(t *testing.T) {
				st, hub, p := newFaultyEnv(t, nil, usecase.HubOptions{StoreTimeout: 50 * time.Millisecond})
				ctx := context.Background()
				var live *usecase.Member
				liveSink := newSink()
				if beside {
					live = join(t, hub, usecase.JoinRequest{PaperID: p.ID, User: "live"}, liveSink)
					if _, err := live.Edit(ctx, upsert("live-note", "i", 1)); err != nil {
						t.Fatal(err)
					}
				}

				st.set(tt.step, tt.stall)
				var s usecase.Sink = newSink()
				if tt.step == "" {
					s = failingSink{newSink()}
				}
				req := usecase.JoinRequest{PaperID: p.ID, User: "failing"}
				if tt.resume {
					req.Resume, req.Since, req.Epoch = true, 0, p.Epoch
				}
				m, err := hub.Join(ctx, req, s)
				if err == nil {
					m.Leave()
					t.Fatal("join succeeded")
				}
				if tt.step != "" && !errors.Is(err, domain.ErrUnavailable) {
					t.Fatalf("refused with %v, want unavailable", err)
				}
				st.set("", false)
				assertJoinTookNothing(t, hub, st, p.ID, live, liveSink)
			})
		}
	}
}

// assertJoinTookNothing checks that a failed join of user "failing" left
// nothing behind: no room (or, beside a live session, the room with that
// session only, still getting every op), no subscription, no presence entry.
func assertJoinTookNothing(t *testing.T, hub *usecase.Hub, st *faultyStore, paperID string, live *usecase.Member, liveSink *sink) {
	t.Helper()
	ctx := context.Background()
	if live == nil {
		assertNoRooms(t, hub)
		if n := st.subscriptions(); n != 0 {
			t.Fatalf("%d bus subscriptions left behind", n)
		}
	} else {
		rooms, sessions := hub.Stats()
		if len(rooms) != 1 || rooms[0].Sessions != 1 || sessions != 1 {
			t.Fatalf("room after the failed join: %+v, %d sessions; want the live session only", rooms, sessions)
		}
		seq, err := live.Edit(ctx, upsert("live-note", "i", "after"))
		if err != nil {
			t.Fatal(err)
		}
		waitSeq(t, liveSink, seq)
	}
	pres, err := st.ListPresence(ctx, paperID)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range pres {
		if e.User == "failing" {
			t.Fatalf("the failed join's presence entry is left behind: %+v", pres)
		}
	}
}

// TestFailedActivationLeavesNothingBehind: a join can also fail after its
// first frames went out, while it is made live: too many events arrived
// while it joined, or the bus lost one before the room knew its stream and
// history cannot be read to fill it. It still takes back everything.
func TestFailedActivationLeavesNothingBehind(t *testing.T) {
	const joinBuffer = 4
	tests := []struct {
		name   string
		beside bool
		// during runs while the joining session takes its first frames.
		during func(t *testing.T, st *faultyStore, bus *lossyBus, paperID string)
	}{
		{"too many events while joining", false, overflow},
		{"too many events while joining, beside a live session", true, overflow},
		{"history fails while filling a lost event", false, func(t *testing.T, st *faultyStore, bus *lossyBus, paperID string) {
			passed := bus.watch(dropSeqs(1, 1))
			applyElsewhere(t, st, paperID, 1)
			waitPassed(t, passed, applyElsewhere(t, st, paperID, 2))
			st.set(failHistory, false)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bus := &lossyBus{}
			st, hub, p := newFaultyEnv(t, bus, usecase.HubOptions{JoinBuffer: joinBuffer})
			var live *usecase.Member
			liveSink := newSink()
			if tt.beside {
				live = join(t, hub, usecase.JoinRequest{PaperID: p.ID, User: "live"}, liveSink)
			}
			s := hookSink{sink: newSink(), onStart: func() { tt.during(t, st, bus, p.ID) }}
			m, err := hub.Join(context.Background(), usecase.JoinRequest{PaperID: p.ID, User: "failing"}, s)
			if err == nil {
				m.Leave()
				t.Fatal("join succeeded")
			}
			if !errors.Is(err, domain.ErrUnavailable) {
				t.Fatalf("refused with %v, want unavailable", err)
			}
			st.set("", false)
			bus.watch(nil)
			assertJoinTookNothing(t, hub, st, p.ID, live, liveSink)
		})
	}
}

// overflow publishes more events than a joining session may buffer and
// waits until the room has them.
func overflow(t *testing.T, st *faultyStore, bus *lossyBus, paperID string) {
	passed := bus.watch(nil)
	var last uint64
	for i := range 10 {
		last = applyElsewhere(t, st, paperID, i)
	}
	waitPassed(t, passed, last)
}
