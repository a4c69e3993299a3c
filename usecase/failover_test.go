package usecase_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/paper"
	"github.com/papercast/papercast/protocol"
	"github.com/papercast/papercast/repository/memory"
	"github.com/papercast/papercast/usecase"
)

// rewoundPair is one paper with a session on each of two hubs (two
// replicas) sharing a store; hub A's bus lets the test put events in front
// of its room as a store that went back (a failover) would send them.
type rewoundPair struct {
	st         *memory.Store
	bus        *lossyBus
	hubA, hubB *usecase.Hub
	p          domain.Paper
	m          *usecase.Member
	a, b       *sink
}

func newRewoundPair(t *testing.T) *rewoundPair {
	t.Helper()
	st := memory.New(memory.Options{HistorySize: 100, PresenceTTL: time.Minute})
	bus := &lossyBus{Bus: st}
	r := &rewoundPair{st: st, bus: bus,
		hubA: usecase.NewHub(st, st, bus, paper.DefaultLimits(), usecase.HubOptions{}, nil, quiet),
		hubB: usecase.NewHub(st, st, st, paper.DefaultLimits(), usecase.HubOptions{}, nil, quiet),
		a:    newSink(), b: newSink()}
	papers := usecase.NewPapers(st, st, paper.DefaultLimits())
	r.p, _, _ = papers.Create(context.Background(), "t", "", "")
	var err error
	if r.m, err = r.hubA.Join(context.Background(), usecase.JoinRequest{PaperID: r.p.ID}, r.a); err != nil {
		t.Fatal(err)
	}
	mb, err := r.hubB.Join(context.Background(), usecase.JoinRequest{PaperID: r.p.ID}, r.b)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		r.m.Leave()
		mb.Leave()
		r.hubA.Close()
		r.hubB.Close()
		st.Close()
	})
	ctx := context.Background()
	for i := range 3 {
		if _, err := r.m.Edit(ctx, upsert("n1", "i", i)); err != nil {
			t.Fatal(err)
		}
	}
	waitSeq(t, r.a, 3)
	waitSeq(t, r.b, 3)
	return r
}

// inject hands hub A's room an event as the bus would.
func (r *rewoundPair) inject(frame []byte) {
	r.bus.mu.Lock()
	h := r.bus.h
	r.bus.mu.Unlock()
	h.Event(frame)
}

// checkReset: the paper has a new epoch, both replicas' sessions were told
// to resume, a resume with the old epoch gets a snapshot of the store, and
// no session was sent the frame the store does not hold.
func (r *rewoundPair) checkReset(t *testing.T, alien []byte) {
	t.Helper()
	waitClosed(t, r.a, domain.CloseResync)
	waitClosed(t, r.b, domain.CloseResync) // through the epoch frame
	got, err := r.st.Paper(context.Background(), r.p.ID)
	if err != nil || got.Epoch == r.p.Epoch {
		t.Fatalf("epoch after the loss: %q, %v; want a new one (old %q)", got.Epoch, err, r.p.Epoch)
	}
	for name, s := range map[string]*sink{"A": r.a, "B": r.b} {
		frames, _ := s.snapshot()
		for _, f := range frames {
			if bytes.Equal(f, alien) {
				t.Fatalf("session on %s was sent %s", name, f)
			}
			if kind, _, _ := protocol.EventHeader(f); kind == domain.EventEpoch {
				t.Fatalf("session on %s was sent the internal epoch frame", name)
			}
		}
	}
	s := newSink()
	m, err := r.hubB.Join(context.Background(), usecase.JoinRequest{PaperID: r.p.ID, Resume: true, Since: 3, Epoch: r.p.Epoch}, s)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Leave()
	frames, _ := s.snapshot()
	if len(frames) == 0 || !bytes.HasPrefix(frames[0], []byte(`{"type":"snapshot"`)) {
		t.Fatalf("resume with the old epoch began with %.60s, want a snapshot", frames)
	}
}

// TestAReusedSeqRenewsTheEpochAndResetsSessions: the room receives a
// different event with a seq it already passed on, as after a failover
// that lost that seq: it renews the paper's epoch, its sessions and the
// other replica's are reset, and resumes get a snapshot.
func TestAReusedSeqRenewsTheEpochAndResetsSessions(t *testing.T) {
	r := newRewoundPair(t)
	op := upsert("n9", "lost", true)
	alien := protocol.OpFrame(2, protocol.OpBody(op, domain.Author{Session: "x", User: "x", Name: "x"}))
	r.inject(alien)
	r.checkReset(t, alien)
}

// TestAStoreBehindTheRoomRenewsTheEpochOnResync: the room passed on seq 4,
// which the store never had (it was lost with a master); after a
// resubscription the room finds the store at seq 3, renews the epoch and
// resets every session.
func TestAStoreBehindTheRoomRenewsTheEpochOnResync(t *testing.T) {
	r := newRewoundPair(t)
	op := upsert("n9", "lost", true)
	lost := protocol.OpFrame(4, protocol.OpBody(op, domain.Author{Session: "x", User: "x", Name: "x"}))
	r.inject(lost)
	waitSeq(t, r.a, 4)
	r.bus.resync()
	r.checkReset(t, nil)
}
