package admin_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/papercast/papercast/delivery/admin"
	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/paper"
	"github.com/papercast/papercast/repository/memory"
	"github.com/papercast/papercast/usecase"
)

// slowBus holds every Subscribe until release is closed, like a Redis that
// takes its time to confirm a subscription.
type slowBus struct {
	usecase.Bus
	release chan struct{}
}

func (b *slowBus) Subscribe(ctx context.Context, id string, h usecase.BusHandler) (func(), error) {
	select {
	case <-b.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return b.Bus.Subscribe(ctx, id, h)
}

// TestRoomStillSubscribingIsNotAnEmptyPaper: a session's first join creates
// a room that has no member until its subscription is made. The admin view
// counts it as active, never as an empty paper (a leak to investigate).
func TestRoomStillSubscribingIsNotAnEmptyPaper(t *testing.T) {
	st := memory.New(memory.Options{PresenceTTL: time.Minute})
	defer st.Close()
	bus := &slowBus{Bus: st, release: make(chan struct{})}
	log := slog.New(slog.DiscardHandler)
	hub := usecase.NewHub(st, st, bus, paper.DefaultLimits(), usecase.HubOptions{}, nil, log)
	defer hub.Close()
	p, _, err := usecase.NewPapers(st, st, paper.DefaultLimits()).Create(t.Context(), "t", "", "")
	if err != nil {
		t.Fatal(err)
	}
	joined := make(chan *usecase.Member, 1)
	go func() {
		m, err := hub.Join(context.Background(), usecase.JoinRequest{PaperID: p.ID}, nopSink{})
		if err != nil {
			t.Error(err)
		}
		joined <- m
	}()
	for hub.Rooms() == 0 {
		time.Sleep(time.Millisecond)
	}
	r := (&admin.Local{Hub: hub}).Self(t.Context())
	close(bus.release)
	if m := <-joined; m != nil {
		m.Leave()
	}
	if len(r.EmptyPapers) != 0 {
		t.Errorf("a room still subscribing is listed as empty: %+v", r.EmptyPapers)
	}
	if r.Sessions != 1 || r.ActivePapers != 1 || len(r.Papers) != 1 || r.Papers[0].PaperID != p.ID {
		t.Errorf("sessions %d, active papers %d, papers %+v; want the one joining", r.Sessions, r.ActivePapers, r.Papers)
	}
}

type nopSink struct{}

func (nopSink) Start([][]byte) error     { return nil }
func (nopSink) Send([]byte)              {}
func (nopSink) Close(domain.CloseReason) {}
