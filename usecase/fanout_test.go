package usecase_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/papercast/papercast/paper"
	"github.com/papercast/papercast/repository/memory"
	"github.com/papercast/papercast/usecase"
)

// fanOutRecorder counts what the hub reports about its fan-outs.
type fanOutRecorder struct {
	usecase.NopHubMetrics
	mu        sync.Mutex
	delivered int           // Delivered calls: one per event handed off
	fanOuts   int           // FanOut calls
	negative  time.Duration // the smallest duration seen, if below zero
}

func (r *fanOutRecorder) Delivered(int) { r.mu.Lock(); r.delivered++; r.mu.Unlock() }

func (r *fanOutRecorder) FanOut(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fanOuts++
	r.negative = min(r.negative, d)
}

func (r *fanOutRecorder) counts() (delivered, fanOuts int, negative time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.delivered, r.fanOuts, r.negative
}

// TestEveryEventHandedOffOnArrivalIsTimed: each op that reaches a room is
// timed once, from its arrival to its hand-off; presence a busy room holds
// back is not handed off on arrival, so it is not timed as if it were.
func TestEveryEventHandedOffOnArrivalIsTimed(t *testing.T) {
	st := memory.New(memory.Options{PresenceTTL: time.Minute})
	defer st.Close()
	rec := &fanOutRecorder{}
	// Every room is "busy" and never flushes: all presence is held.
	hub := usecase.NewHub(st, st, st, paper.DefaultLimits(), usecase.HubOptions{
		PresenceImmediateBelow: 1, PresenceFlush: time.Hour, PresenceBudget: 1,
	}, rec, quiet)
	defer hub.Close()
	papers := usecase.NewPapers(st, st, paper.DefaultLimits())
	ctx := context.Background()
	p, _, err := papers.Create(ctx, "timed", "", "")
	if err != nil {
		t.Fatal(err)
	}
	sa, sb := newSink(), newSink()
	a := join(t, hub, usecase.JoinRequest{PaperID: p.ID, User: "a"}, sa)
	b := join(t, hub, usecase.JoinRequest{PaperID: p.ID, User: "b"}, sb)

	const ops = 5
	for i := range ops {
		if _, err := a.Edit(ctx, upsert(fmt.Sprint("n", i), "text", "hi")); err != nil {
			t.Fatal(err)
		}
		if err := a.SetPresence(ctx, json.RawMessage(fmt.Sprintf(`{"x":%d}`, i))); err != nil {
			t.Fatal(err)
		}
	}
	waitSeq(t, sa, ops)
	waitSeq(t, sb, ops)
	a.Leave()
	b.Leave()
	hub.Close()
	if err := hub.Wait(ctx); err != nil {
		t.Fatal(err)
	}

	delivered, fanOuts, negative := rec.counts()
	if fanOuts != ops || delivered != ops {
		t.Errorf("%d fan-outs timed and %d handed off, want %d of each (one per op, none for held presence)", fanOuts, delivered, ops)
	}
	if negative < 0 {
		t.Errorf("a fan-out took %v", negative)
	}
}
