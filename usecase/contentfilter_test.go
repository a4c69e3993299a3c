package usecase_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/moderation"
	"github.com/papercast/papercast/paper"
	"github.com/papercast/papercast/repository/memory"
	"github.com/papercast/papercast/usecase"
)

// newFilteredEnv is newEnv with the content filter on: blocked words "ass"
// and "bad word" under the given policy.
func newFilteredEnv(t *testing.T, policy moderation.Policy) *env {
	t.Helper()
	f, err := moderation.NewFilter([]string{"ass", "bad word"}, policy)
	if err != nil {
		t.Fatal(err)
	}
	st := memory.New(memory.Options{HistorySize: 50, PresenceTTL: time.Minute})
	e := &env{store: st, papers: usecase.NewPapers(st, st, paper.DefaultLimits())}
	e.papers.SetFilter(f)
	e.hub = usecase.NewHub(st, st, st, paper.DefaultLimits(), usecase.HubOptions{Filter: f}, nil, quiet)
	t.Cleanup(func() {
		e.hub.Close()
		st.Close()
	})
	return e
}

// blockedFields are upserts with a blocked word in each place it can hide
// in a field value.
var blockedFields = map[string]domain.Op{
	"plain string":       upsert("n1", "text", "you ass"),
	"nested in an array": upsert("n1", "lines", []any{"fine", map[string]any{"t": "a BAD  word"}}),
	"escaped in JSON":    {Kind: domain.OpUpsert, ID: "n1", Fields: map[string]json.RawMessage{"text": json.RawMessage(`"\u0061ss"`)}},
	"fullwidth letters":  upsert("n1", "text", "ＡＳＳ"),
	"among clean fields": upsert("n1", "x", 1, "color", "#ffd", "text", "ass"),
}

// TestRejectedUpsertStoresNothing: under reject, an upsert with a blocked
// word anywhere in its values is ErrFiltered, takes no seq, and no session
// sees an op.
func TestRejectedUpsertStoresNothing(t *testing.T) {
	e := newFilteredEnv(t, moderation.Reject)
	ctx := context.Background()
	p := e.create(t)
	s := newSink()
	m, err := e.hub.Join(ctx, usecase.JoinRequest{PaperID: p.ID, User: "u"}, s)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Leave()
	for name, op := range blockedFields {
		if _, err := m.Edit(ctx, op); !errors.Is(err, domain.ErrFiltered) {
			t.Errorf("%s: Edit = %v, want ErrFiltered", name, err)
		}
	}
	seq, err := m.Edit(ctx, upsert("n1", "text", "class act"))
	if err != nil || seq != 1 {
		t.Fatalf("a clean upsert after the refused ones: seq %d, %v; want seq 1", seq, err)
	}
	doc, err := e.papers.Document(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Elements) != 1 || string(doc.Elements[0].Fields["text"]) != `"class act"` || len(doc.Elements[0].Fields) != 1 {
		t.Fatalf("stored %+v, want only the clean upsert", doc.Elements)
	}
}

// TestMaskedUpsertIsStoredAndSentMasked: under mask, the stored value and
// the op frame every session gets (the sender's included) carry the masked
// text; clean fields and values are untouched.
func TestMaskedUpsertIsStoredAndSentMasked(t *testing.T) {
	e := newFilteredEnv(t, moderation.Mask)
	ctx := context.Background()
	p := e.create(t)
	sender, other := newSink(), newSink()
	m, err := e.hub.Join(ctx, usecase.JoinRequest{PaperID: p.ID, User: "u"}, sender)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Leave()
	o, err := e.hub.Join(ctx, usecase.JoinRequest{PaperID: p.ID, User: "o"}, other)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Leave()
	op := upsert("n1", "text", "you ASS", "lines", []any{"a bad word"}, "x", 3)
	if _, err := m.Edit(ctx, op); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"text": `"you ***"`, "lines": `["a ********"]`, "x": `3`}
	doc, err := e.papers.Document(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range want {
		if got := string(doc.Elements[0].Fields[k]); got != v {
			t.Errorf("stored %s = %s, want %s", k, got, v)
		}
	}
	for name, s := range map[string]*sink{"sender": sender, "other": other} {
		waitSeq(t, s, 1)
		frames, _ := s.snapshot()
		els, _ := replay(t, frames, nil)
		for k, v := range want {
			if got := string(els["n1"][k]); got != v {
				t.Errorf("%s sees %s = %s, want %s", name, k, got, v)
			}
		}
	}
	if string(op.Fields["text"]) != `"you ASS"` {
		t.Errorf("the caller's op was modified: %s", op.Fields["text"])
	}
}

// TestJoinScreensTheDisplayName: a name with a blocked word is refused
// (reject) or masked (mask) at Admit and at Join alike; the name everyone
// sees in presence is the screened one.
func TestJoinScreensTheDisplayName(t *testing.T) {
	ctx := context.Background()
	t.Run("reject", func(t *testing.T) {
		e := newFilteredEnv(t, moderation.Reject)
		p := e.create(t)
		req := usecase.JoinRequest{PaperID: p.ID, User: "u", Name: "Smart Ass"}
		if _, err := e.hub.Admit(ctx, req); !errors.Is(err, domain.ErrFiltered) {
			t.Fatalf("Admit = %v, want ErrFiltered", err)
		}
		if _, err := e.hub.Join(ctx, req, newSink()); !errors.Is(err, domain.ErrFiltered) {
			t.Fatalf("Join = %v, want ErrFiltered", err)
		}
		if e.hub.Rooms() != 0 {
			t.Fatal("a refused join left a room behind")
		}
	})
	t.Run("mask", func(t *testing.T) {
		e := newFilteredEnv(t, moderation.Mask)
		p := e.create(t)
		req, err := e.hub.Admit(ctx, usecase.JoinRequest{PaperID: p.ID, User: "u", Name: "Smart Ass"})
		if err != nil || req.Name != "Smart ***" {
			t.Fatalf("Admit = %q, %v; want the name masked", req.Name, err)
		}
		s := newSink()
		m, err := e.hub.Join(ctx, usecase.JoinRequest{PaperID: p.ID, User: "u", Name: "Smart Ass"}, s)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Leave()
		if m.Author().Name != "Smart ***" {
			t.Fatalf("joined as %q, want the name masked", m.Author().Name)
		}
		frames, _ := s.snapshot()
		var first view
		_ = json.Unmarshal(frames[0], &first)
		if first.You.Name != "Smart ***" || len(first.Presence) != 1 || string(first.Presence[0]["name"]) != `"Smart ***"` {
			t.Fatalf("first frame %s: want you and presence with the masked name", frames[0])
		}
	})
}

// TestCreateScreensTitleAndRecipient: under reject a blocked word in the
// title or the recipient creates nothing; under mask it is stored masked.
func TestCreateScreensTitleAndRecipient(t *testing.T) {
	ctx := context.Background()
	e := newFilteredEnv(t, moderation.Reject)
	for _, tt := range [][2]string{{"Happy birthday, ass", "Ada"}, {"Happy birthday", "BAD word"}} {
		if _, _, err := e.papers.Create(ctx, tt[0], tt[1], ""); !errors.Is(err, domain.ErrFiltered) {
			t.Errorf("Create(%q, %q) = %v, want ErrFiltered", tt[0], tt[1], err)
		}
	}
	e = newFilteredEnv(t, moderation.Mask)
	p, _, err := e.papers.Create(ctx, "Happy birthday, ass", "a bad word", "")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := e.papers.Document(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if doc.Paper.Title != "Happy birthday, ***" || doc.Paper.To != "a ********" {
		t.Fatalf("stored title %q, to %q; want both masked", doc.Paper.Title, doc.Paper.To)
	}
}

// TestTokenReachesTheFirstFrame: the token a delivery issued rides in
// you.token of the snapshot and of the resumed frame, and nowhere else.
func TestTokenReachesTheFirstFrame(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	p := e.create(t)
	s := newSink()
	m, err := e.hub.Join(ctx, usecase.JoinRequest{PaperID: p.ID, User: "u", Token: "g1.a.b"}, s)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Edit(ctx, upsert("n1", "text", "hi")); err != nil {
		t.Fatal(err)
	}
	m.Leave()
	r := newSink()
	m, err = e.hub.Join(ctx, usecase.JoinRequest{PaperID: p.ID, User: "u", Token: "g1.c.d", Resume: true, Since: 0, Epoch: p.Epoch}, r)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Leave()
	for want, s := range map[string]*sink{"g1.a.b": s, "g1.c.d": r} {
		frames, _ := s.snapshot()
		var first view
		_ = json.Unmarshal(frames[0], &first)
		if first.You.Token != want {
			t.Errorf("first frame %s: want you.token %q", frames[0], want)
		}
	}
	frames, _ := r.snapshot()
	var first view
	_ = json.Unmarshal(frames[0], &first)
	if first.Type != "resumed" {
		t.Fatalf("rejoin got %s, want resumed", frames[0])
	}
}
