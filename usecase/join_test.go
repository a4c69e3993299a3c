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

// hookSink runs onStart when the hub hands it the first frames: the moment
// a session has read its snapshot but is not live yet.
type hookSink struct {
	*sink
	onStart func()
}

func (s hookSink) Start(frames [][]byte) error {
	err := s.sink.Start(frames)
	s.onStart()
	return err
}

// lossyEnv is a hub on a memory store whose bus loses what bus.drop says.
type lossyEnv struct {
	st     *memory.Store
	bus    *lossyBus
	hub    *usecase.Hub
	papers *usecase.Papers
}

func newLossyEnv(t *testing.T, history int, presence usecase.PresenceStore) *lossyEnv {
	t.Helper()
	st := memory.New(memory.Options{HistorySize: history, PresenceTTL: time.Minute})
	if presence == nil {
		presence = st
	}
	e := &lossyEnv{st: st, bus: &lossyBus{Bus: st}}
	e.hub = usecase.NewHub(st, presence, e.bus, paper.DefaultLimits(), usecase.HubOptions{}, nil, quiet)
	e.papers = usecase.NewPapers(st, e.bus, paper.DefaultLimits())
	t.Cleanup(func() {
		e.hub.Close()
		st.Close()
	})
	return e
}

// apply stores an op as a session on another replica would: its event
// reaches this replica only over the bus.
func (e *lossyEnv) apply(t *testing.T, paperID string, i int) uint64 {
	t.Helper()
	return applyElsewhere(t, e.st, paperID, i)
}

// applyElsewhere stores an op as a session on another replica would.
func applyElsewhere(t *testing.T, st usecase.Store, paperID string, i int) uint64 {
	t.Helper()
	op := upsert(fmt.Sprint("n", i%3), "i", i)
	seq, err := st.Apply(context.Background(), paperID, op, protocol.OpBody(op, domain.Author{Session: "elsewhere", User: "x"}), usecase.OpOrder{}, usecase.Editor{})
	if err != nil {
		t.Fatal(err)
	}
	return seq
}

// dropSeqs makes the bus lose the events with seq in [from, to].
func dropSeqs(from, to uint64) func([]byte) bool {
	return func(f []byte) bool {
		_, seq, _ := protocol.EventHeader(f)
		return seq >= from && seq <= to
	}
}

// waitPassed waits until the bus has handed the room the event with seq want.
func waitPassed(t *testing.T, passed <-chan uint64, want uint64) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case seq := <-passed:
			if seq == want {
				return
			}
		case <-timeout:
			t.Errorf("seq %d never reached the room", want)
			return
		}
	}
}

// TestJoinMissesNothingTheBusLost: a room learns where its paper's stream
// stands from its first joining session (and again after a reset gave up on
// its stream). Events the bus loses before then, whether the loss shows as
// a seq that jumps or only as a resubscription, still reach the joining
// session from history, in order, with no gap.
func TestJoinMissesNothingTheBusLost(t *testing.T) {
	tests := []struct {
		name       string
		afterReset bool
		resync     bool // the loss shows as a Resync, not as a later seq
	}{
		{"first join, seq jumps", false, false},
		{"first join, resubscribed", false, true},
		{"after a reset, seq jumps", true, false},
		{"after a reset, resubscribed", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const history = 20
			e := newLossyEnv(t, history, nil)
			p, _, err := e.papers.Create(context.Background(), "t", "", "")
			if err != nil {
				t.Fatal(err)
			}
			var base uint64
			for i := range 3 {
				base = e.apply(t, p.ID, i)
			}
			if tt.afterReset {
				// A live session's room loses more than history holds:
				// it closes its sessions with resync and forgets its
				// stream. The closed session stays until its client
				// notices, so the room lives on.
				old := newSink()
				join(t, e.hub, usecase.JoinRequest{PaperID: p.ID}, old)
				e.bus.setDrop(dropSeqs(base+1, base+history+5))
				for i := range history + 6 {
					base = e.apply(t, p.ID, i)
				}
				waitClosed(t, old, domain.CloseResync)
			}

			// The joining session's snapshot is at base; the bus loses
			// base+1 while it starts.
			passed := e.bus.watch(dropSeqs(base+1, base+1))
			want := base + 1
			s := hookSink{sink: newSink(), onStart: func() {
				e.apply(t, p.ID, 100)
				if tt.resync {
					e.bus.resync()
					return
				}
				want = e.apply(t, p.ID, 101)
				waitPassed(t, passed, want) // the room has it before the join ends
			}}
			join(t, e.hub, usecase.JoinRequest{PaperID: p.ID}, s)
			waitSeq(t, s.sink, want)
			frames, _ := s.snapshot()
			if _, seq := replay(t, frames, nil); seq != want {
				t.Fatalf("session ended at seq %d, want %d", seq, want)
			}
		})
	}
}

// gatedPresence holds the presence join of user "gated" until open is
// closed, and records sessions whose update reached the store before their
// join.
type gatedPresence struct {
	usecase.PresenceStore
	open    chan struct{}
	updates chan string

	mu     sync.Mutex
	joined map[string]bool
	early  []string
}

func (g *gatedPresence) SetPresence(ctx context.Context, id string, p domain.Presence, event string) error {
	if event == protocol.PresenceJoin {
		if p.User == "gated" {
			<-g.open // nothing here may synchronise with the hub: the race detector must see the test
		}
		err := g.PresenceStore.SetPresence(ctx, id, p, event)
		g.mu.Lock()
		g.joined[p.Session] = true
		g.mu.Unlock()
		return err
	}
	g.mu.Lock()
	if !g.joined[p.Session] {
		g.early = append(g.early, p.Session)
	}
	g.mu.Unlock()
	err := g.PresenceStore.SetPresence(ctx, id, p, event)
	g.updates <- p.Session
	return err
}

// TestResyncLeavesJoiningSessionsAlone: a room that resubscribes
// re-announces the presence of its live sessions only. A session still
// joining has not announced itself yet; announcing an update for it would
// show it before its join (and read its state while its join writes it:
// run with -race).
func TestResyncLeavesJoiningSessionsAlone(t *testing.T) {
	st := memory.New(memory.Options{PresenceTTL: time.Minute})
	gp := &gatedPresence{PresenceStore: st, open: make(chan struct{}), updates: make(chan string, 16), joined: map[string]bool{}}
	e := newLossyEnv(t, 50, gp)
	t.Cleanup(st.Close)
	// The room's presence goes to st, its papers and events to e.st.
	p, _, err := e.papers.Create(context.Background(), "t", "", "")
	if err != nil {
		t.Fatal(err)
	}
	a := join(t, e.hub, usecase.JoinRequest{PaperID: p.ID, User: "a"}, newSink())

	joined := make(chan *usecase.Member, 1)
	go func() {
		m, err := e.hub.Join(context.Background(), usecase.JoinRequest{PaperID: p.ID, User: "gated"}, newSink())
		if err != nil {
			t.Error(err)
		}
		joined <- m
	}()
	// Wait until the joining session is in the room (Stats shares no lock
	// with what the join does after that).
	deadline := time.Now().Add(5 * time.Second)
	for {
		rooms, _ := e.hub.Stats()
		if len(rooms) == 1 && rooms[0].Sessions == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("joining session never reached the room: %+v", rooms)
		}
		time.Sleep(time.Millisecond)
	}
	e.bus.resync()
	if got := <-gp.updates; got != a.Author().Session {
		t.Fatalf("first re-announced session %s, want the live one %s", got, a.Author().Session)
	}
	close(gp.open)
	if m := <-joined; m != nil {
		m.Leave()
	}
	a.Leave()
	assertNoRooms(t, e.hub) // the recovery has ended
	gp.mu.Lock()
	defer gp.mu.Unlock()
	if len(gp.early) > 0 {
		t.Fatalf("presence updates published before their session's join: %v", gp.early)
	}
}

// TestJoinWithALossHistoryCannotFillClosesToResume: when the bus lost an
// event while a session joined and history has been trimmed past it, the
// session is closed with resync (its client resumes) instead of going on
// with a gap.
func TestJoinWithALossHistoryCannotFillClosesToResume(t *testing.T) {
	const history = 5
	e := newLossyEnv(t, history, nil)
	p, _, err := e.papers.Create(context.Background(), "t", "", "")
	if err != nil {
		t.Fatal(err)
	}
	passed := e.bus.watch(dropSeqs(1, 1))
	s := hookSink{sink: newSink(), onStart: func() {
		var last uint64
		for i := range history + 2 {
			last = e.apply(t, p.ID, i)
		}
		waitPassed(t, passed, last)
	}}
	m, err := e.hub.Join(context.Background(), usecase.JoinRequest{PaperID: p.ID}, s)
	if err == nil {
		m.Leave()
		t.Fatal("join went on past a gap history cannot fill")
	}
	if !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("err = %v, want unavailable", err)
	}
	frames, closed := s.snapshot()
	if closed != domain.CloseResync {
		t.Fatalf("closed with %v, want resync", closed)
	}
	replay(t, frames, nil) // what it got before the close has no gap
	assertNoRooms(t, e.hub)
}
