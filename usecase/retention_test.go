package usecase_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/paper"
	"github.com/papercast/papercast/repository/memory"
	"github.com/papercast/papercast/usecase"
)

// fakeClock is a store clock the test moves.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestAJoinKeepsAnIdlePaper: a join restarts an open paper's idle clock
// (Store.Touch on the hub's load path), so a paper people still open but
// no longer write stays; one nobody opens is dropped.
func TestAJoinKeepsAnIdlePaper(t *testing.T) {
	const idle = 720 * time.Hour
	clk := &fakeClock{t: time.Unix(1e9, 0)}
	st := memory.New(memory.Options{PresenceTTL: time.Minute, OpenIdle: idle, Now: clk.Now})
	papers := usecase.NewPapers(st, st, paper.DefaultLimits())
	hub := usecase.NewHub(st, st, st, paper.DefaultLimits(), usecase.HubOptions{PresenceHeartbeat: 50 * time.Millisecond}, nil, quiet)
	t.Cleanup(func() { hub.Close(); st.Close() })
	ctx := context.Background()
	p, _, err := papers.Create(ctx, "Happy birthday", "Ada", "")
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(idle * 3 / 4)
	m, err := hub.Join(ctx, usecase.JoinRequest{PaperID: p.ID}, newSink())
	if err != nil {
		t.Fatalf("join at 3/4 of the idle window: %v", err)
	}
	m.Leave()
	clk.Advance(idle * 3 / 4) // 1.5 windows after create, 3/4 after the join
	if _, err := st.Paper(ctx, p.ID); err != nil {
		t.Fatalf("paper joined 3/4 of a window ago: %v", err)
	}
	clk.Advance(idle)
	_, err = hub.Join(ctx, usecase.JoinRequest{PaperID: p.ID}, newSink())
	if !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("join of a paper idle for a window: %v, want ErrNotFound", err)
	}
}

// TestResumeOfAFinalPaperGetsItsSnapshot: a final paper keeps no history,
// so a session resuming from before its final seq gets the final snapshot.
func TestResumeOfAFinalPaperGetsItsSnapshot(t *testing.T) {
	e := newEnv(t, nil)
	p := e.create(t)
	ctx := context.Background()
	a := join(t, e.hub, usecase.JoinRequest{PaperID: p.ID}, newSink())
	for i := range 3 {
		if _, err := a.Edit(ctx, upsert("n1", "i", i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.store.Finalize(ctx, p.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	s := newSink()
	m, err := e.hub.Join(ctx, usecase.JoinRequest{PaperID: p.ID, Resume: true, Since: 2, Epoch: p.Epoch}, s)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Leave()
	frames, _ := s.snapshot()
	var first view
	_ = json.Unmarshal(frames[0], &first)
	if first.Type != "snapshot" || first.Seq != 4 || first.Paper.Status != domain.StatusFinal {
		t.Fatalf("first frame %s, want the final snapshot at seq 4", frames[0])
	}
}
