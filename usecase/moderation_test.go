package usecase_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/internal/redistest"
	"github.com/papercast/papercast/paper"
	"github.com/papercast/papercast/protocol"
	"github.com/papercast/papercast/repository/memory"
	"github.com/papercast/papercast/repository/redis"
	"github.com/papercast/papercast/usecase"
)

// joinAs joins a paper as user and leaves at the end of the test.
func joinAs(t *testing.T, hub *usecase.Hub, paperID, user string) (*usecase.Member, *sink) {
	t.Helper()
	s := newSink()
	m, err := hub.Join(context.Background(), usecase.JoinRequest{PaperID: paperID, User: user, Name: "N " + user}, s)
	if err != nil {
		t.Fatalf("join as %s: %v", user, err)
	}
	t.Cleanup(m.Leave)
	return m, s
}

func TestClaimMakesAnOwnerSession(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	p, key, err := e.papers.Create(ctx, "t", "", "")
	if err != nil {
		t.Fatal(err)
	}
	ada, _ := joinAs(t, e.hub, p.ID, "ada")
	mod, _ := joinAs(t, e.hub, p.ID, "mod")
	if _, err := ada.Edit(ctx, upsert("n1", "text", "ada's")); err != nil {
		t.Fatal(err)
	}
	if _, err := mod.Edit(ctx, upsert("n1", "text", "moderated")); !errors.Is(err, domain.ErrForbidden) {
		t.Fatalf("edit of another's note before claiming: %v, want ErrForbidden", err)
	}
	for _, wrong := range []string{"", "wrong", key + "x"} {
		if err := mod.Claim(ctx, wrong); !errors.Is(err, domain.ErrForbidden) {
			t.Fatalf("Claim(%q) = %v, want ErrForbidden", wrong, err)
		}
		if mod.Owner() {
			t.Fatalf("Claim(%q) made an owner", wrong)
		}
	}
	if err := mod.Ban(ctx, "ada"); !errors.Is(err, domain.ErrForbidden) {
		t.Fatalf("ban before claiming: %v, want ErrForbidden", err)
	}
	if err := mod.Claim(ctx, key); err != nil || !mod.Owner() {
		t.Fatalf("Claim with the key: %v, owner %v", err, mod.Owner())
	}
	if _, err := mod.Edit(ctx, upsert("n1", "text", "moderated")); err != nil {
		t.Fatalf("owner edit: %v", err)
	}
	if _, err := mod.Edit(ctx, domain.Op{Kind: domain.OpDelete, ID: "n1"}); err != nil {
		t.Fatalf("owner delete: %v", err)
	}
	if err := mod.Ban(ctx, ""); !errors.Is(err, domain.ErrInvalid) {
		t.Fatalf("ban of no one: %v, want ErrInvalid", err)
	}
}

// TestNewElementsAreStampedByTheHubClock: createdAt comes from the hub's
// clock (HubOptions.Now), so every store records the same time.
func TestNewElementsAreStampedByTheHubClock(t *testing.T) {
	st := memory.New(memory.Options{PresenceTTL: time.Minute})
	t.Cleanup(st.Close)
	at := time.Date(2031, 2, 3, 4, 5, 6, 789, time.UTC)
	hub := usecase.NewHub(st, st, st, paper.DefaultLimits(), usecase.HubOptions{Now: func() time.Time { return at }}, nil, quiet)
	t.Cleanup(hub.Close)
	papers := usecase.NewPapers(st, st, paper.DefaultLimits())
	p, _, _ := papers.Create(context.Background(), "t", "", "")
	m, _ := joinAs(t, hub, p.ID, "ada")
	if _, err := m.Edit(context.Background(), upsert("n1", "text", "hi")); err != nil {
		t.Fatal(err)
	}
	doc, _ := papers.Document(context.Background(), p.ID)
	el := doc.Elements[0]
	if el.By != (domain.ElementAuthor{User: "ada", Name: "N ada"}) || !el.CreatedAt.Equal(at.Truncate(time.Second)) {
		t.Fatalf("element by %+v at %v, want ada at %v", el.By, el.CreatedAt, at.Truncate(time.Second))
	}
}

func TestBanClosesTheUsersSessionsAndRefusesTheirJoins(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	p, key, _ := e.papers.Create(ctx, "t", "", "")
	_, troll1 := joinAs(t, e.hub, p.ID, "troll")
	_, troll2 := joinAs(t, e.hub, p.ID, "troll")
	_, ada := joinAs(t, e.hub, p.ID, "ada")
	if err := e.papers.Ban(ctx, p.ID, "wrong", "troll"); !errors.Is(err, domain.ErrForbidden) {
		t.Fatalf("ban with a wrong key: %v", err)
	}
	if err := e.papers.Ban(ctx, p.ID, key, "troll"); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, troll1, domain.CloseBanned)
	waitClosed(t, troll2, domain.CloseBanned)
	if _, err := e.hub.Join(ctx, usecase.JoinRequest{PaperID: p.ID, User: "troll"}, newSink()); !errors.Is(err, domain.ErrBanned) {
		t.Fatalf("rejoin: %v, want ErrBanned", err)
	}
	if _, r := ada.snapshot(); r != 0 {
		t.Fatalf("ada's session closed too (%v)", r)
	}
	frames, _ := ada.snapshot()
	for _, f := range frames {
		if kind, _, _ := protocol.EventHeader(f); kind == domain.EventBan {
			t.Fatalf("a ban event reached a client: %s", f)
		}
	}
	if err := e.papers.Unban(ctx, p.ID, key, "troll"); err != nil {
		t.Fatal(err)
	}
	joinAs(t, e.hub, p.ID, "troll")
}

// TestResyncRechecksBans: the bus may lose the ban event with whatever else
// it lost; after the room's resync the banned user's sessions are closed.
func TestResyncRechecksBans(t *testing.T) {
	st := memory.New(memory.Options{PresenceTTL: time.Minute})
	bus := &lossyBus{Bus: st}
	hub := usecase.NewHub(st, st, bus, paper.DefaultLimits(), usecase.HubOptions{}, nil, quiet)
	papers := usecase.NewPapers(st, bus, paper.DefaultLimits())
	t.Cleanup(func() {
		hub.Close()
		st.Close()
	})
	ctx := context.Background()
	p, key, _ := papers.Create(ctx, "t", "", "")
	_, troll := joinAs(t, hub, p.ID, "troll")
	ada, _ := joinAs(t, hub, p.ID, "ada")
	bus.setDrop(func(f []byte) bool { kind, _, _ := protocol.EventHeader(f); return kind == domain.EventBan })
	if err := papers.Ban(ctx, p.ID, key, "troll"); err != nil {
		t.Fatal(err)
	}
	// The bus keeps its order: once ada's later op reached the troll's
	// session, the ban event is known to be lost, not late.
	seq, err := ada.Edit(ctx, upsert("n1", "text", "hi"))
	if err != nil {
		t.Fatal(err)
	}
	waitSeq(t, troll, seq)
	if _, r := troll.snapshot(); r != 0 {
		t.Fatalf("closed (%v) although the ban event was lost", r)
	}
	bus.resync()
	waitClosed(t, troll, domain.CloseBanned)
}

// TestPolicyFramesReachSessionsInSeqOrder: a policy change is a seq'd event
// like an op, so a session's stream stays gap-free across it.
func TestPolicyFramesReachSessionsInSeqOrder(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	p, key, _ := e.papers.Create(ctx, "t", "", "")
	ada, s := joinAs(t, e.hub, p.ID, "ada")
	bob, _ := joinAs(t, e.hub, p.ID, "bob")
	if _, err := ada.Edit(ctx, upsert("n1", "text", "ada's")); err != nil {
		t.Fatal(err)
	}
	got, err := e.papers.SetEdit(ctx, p.ID, key, domain.EditOpen)
	if err != nil || got.Edit != domain.EditOpen || got.Seq != 2 {
		t.Fatalf("SetEdit: %+v %v", got, err)
	}
	if _, err := bob.Edit(ctx, upsert("n1", "text", "bob's")); err != nil {
		t.Fatalf("edit after the paper opened: %v", err)
	}
	if _, err := e.papers.SetEdit(ctx, p.ID, key, "everyone"); !errors.Is(err, domain.ErrInvalid) {
		t.Fatalf("unknown policy: %v, want ErrInvalid", err)
	}
	if _, err := e.papers.SetEdit(ctx, p.ID, "nope", domain.EditAuthors); !errors.Is(err, domain.ErrForbidden) {
		t.Fatalf("wrong key: %v, want ErrForbidden", err)
	}
	waitSeq(t, s, 3)
	frames, _ := s.snapshot()
	var types []string
	for _, f := range frames[1:] {
		var v view
		_ = json.Unmarshal(f, &v)
		if v.Type != "presence" {
			types = append(types, v.Type)
		}
	}
	if want := []string{"op", "policy", "op"}; len(types) != 3 || types[0] != want[0] || types[1] != want[1] || types[2] != want[2] {
		t.Fatalf("stream %v, want %v", types, want)
	}
	if string(frames[0]) == "" || !json.Valid(frames[0]) {
		t.Fatal("no snapshot")
	}
	if _, seq := replay(t, frames, nil); seq != 3 {
		t.Fatalf("replayed to seq %d, want 3", seq)
	}
}

// TestBanOnOneReplicaClosesSessionsOnAnother: two hubs on one Redis, as two
// replicas are. An owner session on one bans a user whose sessions are on
// the other; they are closed, and joining again through either is refused.
func TestBanOnOneReplicaClosesSessionsOnAnother(t *testing.T) {
	srv := redistest.Start(t)
	replica := func() (*usecase.Hub, *usecase.Papers) {
		st, err := redis.New(context.Background(), redis.Options{Addrs: []string{srv.Addr()}, PresenceTTL: time.Minute}, quiet)
		if err != nil {
			t.Fatal(err)
		}
		hub := usecase.NewHub(st, st, st, paper.DefaultLimits(), usecase.HubOptions{}, nil, quiet)
		t.Cleanup(func() {
			hub.Close()
			st.Close()
		})
		return hub, usecase.NewPapers(st, st, paper.DefaultLimits())
	}
	hubA, papers := replica()
	hubB, _ := replica()
	ctx := context.Background()
	p, key, err := papers.Create(ctx, "t", "", "")
	if err != nil {
		t.Fatal(err)
	}
	troll, trollSink := joinAs(t, hubB, p.ID, "troll")
	_, adaB := joinAs(t, hubB, p.ID, "ada")
	owner, _ := joinAs(t, hubA, p.ID, "owner")
	if _, err := troll.Edit(ctx, upsert("n1", "text", "spam")); err != nil {
		t.Fatal(err)
	}
	if err := owner.Claim(ctx, key); err != nil {
		t.Fatal(err)
	}
	if err := owner.Ban(ctx, "troll"); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, trollSink, domain.CloseBanned)
	if _, err := troll.Edit(ctx, upsert("n1", "text", "more spam")); !errors.Is(err, domain.ErrBanned) {
		t.Fatalf("the banned session's edit: %v, want ErrBanned", err)
	}
	for name, hub := range map[string]*usecase.Hub{"A": hubA, "B": hubB} {
		if _, err := hub.Join(ctx, usecase.JoinRequest{PaperID: p.ID, User: "troll"}, newSink()); !errors.Is(err, domain.ErrBanned) {
			t.Fatalf("rejoin through replica %s: %v, want ErrBanned", name, err)
		}
	}
	if _, r := adaB.snapshot(); r != 0 {
		t.Fatalf("another user's session on the banned user's replica closed (%v)", r)
	}
	if _, err := owner.Edit(ctx, domain.Op{Kind: domain.OpDelete, ID: "n1"}); err != nil {
		t.Fatalf("the owner removes the troll's note: %v", err)
	}
}
