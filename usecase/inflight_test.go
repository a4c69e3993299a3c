package usecase_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/paper"
	"github.com/papercast/papercast/repository/memory"
	"github.com/papercast/papercast/usecase"
)

// gatedStore holds every Apply until gate closes: a store that has fallen
// behind.
type gatedStore struct {
	*memory.Store
	gate    chan struct{}
	entered chan struct{}
	calls   atomic.Int32
}

func (g *gatedStore) Apply(ctx context.Context, id string, op domain.Op, body []byte, order usecase.OpOrder, ed usecase.Editor) (uint64, error) {
	g.calls.Add(1)
	g.entered <- struct{}{}
	select {
	case <-g.gate:
	case <-ctx.Done():
		return 0, fmt.Errorf("gated: %w: %w", domain.ErrUnavailable, ctx.Err())
	}
	return g.Store.Apply(ctx, id, op, body, order, ed)
}

// With MaxOpsInFlight ops already waiting on the store, the next edit is
// refused at once with ErrOverloaded, never reaches the store and stores
// nothing; once the store catches up, edits go through again.
func TestEditsPastMaxOpsInFlightAreRefusedAtOnceAndStoreNothing(t *testing.T) {
	const limit = 2
	st := memory.New(memory.Options{PresenceTTL: time.Minute})
	g := &gatedStore{Store: st, gate: make(chan struct{}), entered: make(chan struct{}, limit+2)}
	hub := usecase.NewHub(g, st, st, paper.DefaultLimits(), usecase.HubOptions{MaxOpsInFlight: limit}, nil, quiet)
	t.Cleanup(func() {
		hub.Close()
		st.Close()
	})
	p, _, err := usecase.NewPapers(st, st, paper.DefaultLimits()).Create(t.Context(), "Happy birthday", "Ada", "")
	if err != nil {
		t.Fatal(err)
	}
	var members []*usecase.Member
	for i := range limit + 1 {
		members = append(members, join(t, hub, usecase.JoinRequest{PaperID: p.ID, User: fmt.Sprintf("u%d", i)}, newSink()))
	}

	waiting := make(chan error, limit)
	for i := range limit {
		go func() {
			_, err := members[i].Edit(t.Context(), upsert(fmt.Sprintf("n%d", i), "text", "waits"))
			waiting <- err
		}()
		<-g.entered
	}
	// The store holds limit ops: this one is refused without waiting (the
	// gate stays closed, so a call that waited would never return).
	_, err = members[limit].Edit(t.Context(), upsert("late", "text", "refused"))
	if !errors.Is(err, domain.ErrOverloaded) {
		t.Fatalf("edit past the bound: %v, want ErrOverloaded", err)
	}
	if n := g.calls.Load(); n != limit {
		t.Fatalf("the store saw %d applies, want %d: the refused op reached it", n, limit)
	}

	close(g.gate)
	for range limit {
		if err := <-waiting; err != nil {
			t.Fatalf("edit within the bound: %v", err)
		}
	}
	doc, err := st.Snapshot(t.Context(), p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if doc.Paper.Seq != limit || len(doc.Elements) != limit {
		t.Fatalf("stored seq %d and %d elements, want %d of each: %+v", doc.Paper.Seq, len(doc.Elements), limit, doc.Elements)
	}
	for _, el := range doc.Elements {
		if el.ID == "late" {
			t.Fatal("the refused op was stored")
		}
	}
	// The slots were given back: the refused session edits again.
	if _, err := members[limit].Edit(t.Context(), upsert("late", "text", "now")); err != nil {
		t.Fatalf("edit after the store caught up: %v", err)
	}
}
