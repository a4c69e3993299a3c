package usecase_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/internal/wstest"
	"github.com/papercast/papercast/paper"
	"github.com/papercast/papercast/protocol"
	"github.com/papercast/papercast/repository/memory"
	"github.com/papercast/papercast/usecase"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// sink records what a session would receive.
type sink struct {
	mu     sync.Mutex
	frames [][]byte
	closed domain.CloseReason
	notify chan struct{}
}

func newSink() *sink { return &sink{notify: make(chan struct{}, 1)} }

func (s *sink) Start(frames [][]byte) error {
	for _, f := range frames {
		s.Send(f)
	}
	return nil
}

func (s *sink) Send(f []byte) {
	s.mu.Lock()
	s.frames = append(s.frames, f)
	s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

func (s *sink) Close(r domain.CloseReason) {
	s.mu.Lock()
	s.closed = r
	s.mu.Unlock()
}

func (s *sink) snapshot() ([][]byte, domain.CloseReason) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.frames...), s.closed
}

// view is any server frame, decoded loosely.
type view = wstest.Frame

// replay checks the stream a session got (first frame, then ops in seq order
// with no gap or duplicate) and returns its view of the elements.
func replay(t *testing.T, frames [][]byte, base map[string]map[string]json.RawMessage) (map[string]map[string]json.RawMessage, uint64) {
	t.Helper()
	if len(frames) == 0 {
		t.Fatal("no frames")
	}
	var first view
	if err := json.Unmarshal(frames[0], &first); err != nil {
		t.Fatalf("first frame: %v", err)
	}
	els := map[string]map[string]json.RawMessage{}
	switch first.Type {
	case "snapshot":
		els = wstest.Elements(first.Elements)
	case "resumed":
		for k, v := range base {
			els[k] = v
		}
	default:
		t.Fatalf("first frame is %q", first.Type)
	}
	seq := first.Seq
	if first.Type == "resumed" {
		seq = first.From
	}
	for _, f := range frames[1:] {
		var v view
		if err := json.Unmarshal(f, &v); err != nil {
			t.Fatalf("frame %s: %v", f, err)
		}
		if v.Seq == 0 {
			continue // presence: no seq; every other frame with one consumes it
		}
		if v.Seq != seq+1 {
			t.Fatalf("got seq %d after %d (gap or duplicate)", v.Seq, seq)
		}
		seq = v.Seq
		switch v.Op {
		case "upsert":
			els[v.ID] = paper.Merge(els[v.ID], v.Fields)
		case "delete":
			delete(els, v.ID)
		}
	}
	return els, seq
}

func docElements(d domain.Document) map[string]map[string]json.RawMessage {
	out := map[string]map[string]json.RawMessage{}
	for _, e := range d.Elements {
		out[e.ID] = e.Fields
	}
	return out
}

type env struct {
	store  *memory.Store
	papers *usecase.Papers
	hub    *usecase.Hub
}

func newEnv(t *testing.T, bus usecase.Bus) *env {
	t.Helper()
	st := memory.New(memory.Options{HistorySize: 50, PresenceTTL: time.Minute})
	if bus == nil {
		bus = st
	}
	e := &env{store: st, papers: usecase.NewPapers(st, bus, paper.DefaultLimits())}
	e.hub = usecase.NewHub(st, st, bus, paper.DefaultLimits(), usecase.HubOptions{PresenceHeartbeat: 50 * time.Millisecond}, nil, quiet)
	t.Cleanup(func() {
		e.hub.Close()
		st.Close()
	})
	return e
}

func (e *env) create(t *testing.T) domain.Paper {
	t.Helper()
	p, _, err := e.papers.Create(context.Background(), "Happy birthday", "Ada", "")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func upsert(id string, kv ...any) domain.Op {
	f := map[string]json.RawMessage{}
	for i := 0; i < len(kv); i += 2 {
		b, _ := json.Marshal(kv[i+1])
		f[kv[i].(string)] = b
	}
	return domain.Op{Kind: domain.OpUpsert, ID: id, Fields: f}
}

// waitSeq waits until the sink has seen an op with seq >= want.
func waitSeq(t *testing.T, s *sink, want uint64) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		frames, _ := s.snapshot()
		for _, f := range frames {
			if _, seq, ok := protocol.EventHeader(f); ok && seq >= want {
				return
			}
			var v view
			if json.Unmarshal(f, &v) == nil && (v.Type == "snapshot" || v.Type == "resumed") && v.Seq >= want {
				return
			}
		}
		select {
		case <-s.notify:
		case <-deadline:
			t.Fatalf("timed out waiting for seq %d", want)
		}
	}
}

func TestJoinDuringEditsMissesNothing(t *testing.T) {
	e := newEnv(t, nil)
	p := e.create(t)
	ctx := context.Background()
	writerSink := newSink()
	writer, err := e.hub.Join(ctx, usecase.JoinRequest{PaperID: p.ID, User: "w"}, writerSink)
	if err != nil {
		t.Fatal(err)
	}
	const ops = 400
	var lastSeq uint64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < ops; i++ {
			id := fmt.Sprintf("n%d", i%7)
			op := upsert(id, "text", fmt.Sprint(i))
			if i%11 == 0 {
				op = domain.Op{Kind: domain.OpDelete, ID: id}
			}
			seq, err := writer.Edit(ctx, op)
			if err != nil && !errors.Is(err, domain.ErrNotFound) {
				t.Errorf("edit %d: %v", i, err)
				return
			}
			if err == nil {
				lastSeq = seq
			}
		}
	}()
	var joiners []*sink
	var members []*usecase.Member
	for i := 0; i < 20; i++ {
		s := newSink()
		m, err := e.hub.Join(ctx, usecase.JoinRequest{PaperID: p.ID, User: fmt.Sprint("j", i)}, s)
		if err != nil {
			t.Fatal(err)
		}
		joiners = append(joiners, s)
		members = append(members, m)
		time.Sleep(time.Millisecond)
	}
	<-done
	doc, err := e.papers.Document(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if doc.Paper.Seq != lastSeq {
		t.Fatalf("document seq %d, last ack %d", doc.Paper.Seq, lastSeq)
	}
	for i, s := range append(joiners, writerSink) {
		waitSeq(t, s, lastSeq)
		frames, _ := s.snapshot()
		els, seq := replay(t, frames, nil)
		if seq != lastSeq {
			t.Fatalf("session %d ended at seq %d, want %d", i, seq, lastSeq)
		}
		if !reflect.DeepEqual(els, docElements(doc)) {
			t.Fatalf("session %d view differs from the document", i)
		}
	}
	for _, m := range members {
		m.Leave()
	}
	writer.Leave()
	assertNoRooms(t, e.hub)
}

// join joins a session that leaves when the test ends.
func join(t *testing.T, hub *usecase.Hub, req usecase.JoinRequest, s usecase.Sink) *usecase.Member {
	t.Helper()
	m, err := hub.Join(context.Background(), req, s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Leave)
	return m
}

func assertNoRooms(t *testing.T, h *usecase.Hub) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	rooms, sessions := h.Stats()
	if len(rooms) != 0 || sessions != 0 {
		t.Fatalf("left behind: %d rooms, %d sessions", len(rooms), sessions)
	}
}

func TestResumeGetsExactlyTheMissedOps(t *testing.T) {
	e := newEnv(t, nil)
	p := e.create(t)
	ctx := context.Background()
	a := join(t, e.hub, usecase.JoinRequest{PaperID: p.ID}, newSink())
	for i := 0; i < 5; i++ {
		if _, err := a.Edit(ctx, upsert("n1", "text", fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	s := newSink()
	join(t, e.hub, usecase.JoinRequest{PaperID: p.ID, Resume: true, Since: 2, Epoch: p.Epoch}, s)
	frames, _ := s.snapshot()
	var first view
	_ = json.Unmarshal(frames[0], &first)
	if first.Type != "resumed" || first.From != 2 || first.Seq != 5 {
		t.Fatalf("first frame %s", frames[0])
	}
	_, seq := replay(t, frames, map[string]map[string]json.RawMessage{})
	if seq != 5 || len(frames) < 4 {
		t.Fatalf("resumed to %d with %d frames", seq, len(frames))
	}
}

func TestResumeFallsBackToSnapshot(t *testing.T) {
	e := newEnv(t, nil)
	p := e.create(t)
	ctx := context.Background()
	a := join(t, e.hub, usecase.JoinRequest{PaperID: p.ID}, newSink())
	for i := 0; i < 60; i++ { // history holds 50
		if _, err := a.Edit(ctx, upsert("n1", "i", i)); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name  string
		since uint64
		epoch string
	}{
		{"wrong epoch", 59, "not-the-epoch"},
		{"trimmed", 1, p.Epoch},
		{"ahead of the paper", 99, p.Epoch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSink()
			m, err := e.hub.Join(ctx, usecase.JoinRequest{PaperID: p.ID, Resume: true, Since: tt.since, Epoch: tt.epoch}, s)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Leave()
			frames, _ := s.snapshot()
			var first view
			_ = json.Unmarshal(frames[0], &first)
			if first.Type != "snapshot" || first.Seq != 60 {
				t.Fatalf("first frame %s", frames[0])
			}
		})
	}
}

func TestJoinUnknownPaper(t *testing.T) {
	e := newEnv(t, nil)
	_, err := e.hub.Join(context.Background(), usecase.JoinRequest{PaperID: "nope"}, newSink())
	if !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("err = %v", err)
	}
	assertNoRooms(t, e.hub)
}

func TestDeleteClosesSessions(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	p, key, err := e.papers.Create(ctx, "t", "", "")
	if err != nil {
		t.Fatal(err)
	}
	s := newSink()
	join(t, e.hub, usecase.JoinRequest{PaperID: p.ID}, s)
	if err := e.papers.Delete(ctx, p.ID, key); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, s, domain.CloseDeleted)
}

// waitClosed waits until the hub closes the sink for the reason.
func waitClosed(t *testing.T, s *sink, want domain.CloseReason) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, r := s.snapshot(); r == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("session not closed with %v", want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestOwnerKey(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	p, key, err := e.papers.Create(ctx, "t", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if string(p.OwnerKeyHash) == key || len(key) < 40 {
		t.Fatal("owner key stored in clear or too short")
	}
	tests := []struct {
		key  string
		want error
	}{
		{"", domain.ErrUnauthorized},
		{"wrong", domain.ErrForbidden},
		{key, nil},
	}
	for _, tt := range tests {
		_, err := e.papers.Finalize(ctx, p.ID, tt.key)
		if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
			t.Fatalf("finalize with %q: %v, want %v", tt.key, err, tt.want)
		}
	}
	if _, err := e.papers.Finalize(ctx, p.ID, key); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("second finalize: %v", err)
	}
	if _, err := e.papers.Finalize(ctx, "unknown", key); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("unknown: %v", err)
	}
}

// lossyBus drops chosen events to prove rooms catch up from history. It
// also keeps the last handler it subscribed, so a test can fire a Resync,
// and reports the seq of every event it passes on (if passed is set).
type lossyBus struct {
	usecase.Bus
	mu     sync.Mutex
	drop   func(frame []byte) bool
	h      usecase.BusHandler
	passed chan uint64
}

type lossyHandler struct {
	b *lossyBus
	h usecase.BusHandler
}

func (l lossyHandler) Event(f []byte) {
	l.b.mu.Lock()
	drop := l.b.drop != nil && l.b.drop(f)
	passed := l.b.passed
	l.b.mu.Unlock()
	if drop {
		return
	}
	l.h.Event(f)
	if _, seq, _ := protocol.EventHeader(f); seq > 0 && passed != nil {
		passed <- seq
	}
}
func (l lossyHandler) Resync() { l.h.Resync() }

func (b *lossyBus) Subscribe(ctx context.Context, id string, h usecase.BusHandler) (func(), error) {
	b.mu.Lock()
	b.h = h
	b.mu.Unlock()
	return b.Bus.Subscribe(ctx, id, lossyHandler{b: b, h: h})
}

// setDrop replaces the rule for which events are lost.
func (b *lossyBus) setDrop(drop func(frame []byte) bool) {
	b.mu.Lock()
	b.drop = drop
	b.mu.Unlock()
}

// watch makes the bus lose what drop says (nil: nothing) and report the
// seq of every event it passes on.
func (b *lossyBus) watch(drop func(frame []byte) bool) <-chan uint64 {
	passed := make(chan uint64, 64)
	b.mu.Lock()
	b.drop, b.passed = drop, passed
	b.mu.Unlock()
	return passed
}

// resync tells the last subscribed room that its subscription was re-made.
func (b *lossyBus) resync() {
	b.mu.Lock()
	h := b.h
	b.mu.Unlock()
	h.Resync()
}

// lossyRoom is one session on a paper whose bus drops what bus.drop says.
func lossyRoom(t *testing.T, history int) (*lossyBus, *usecase.Papers, domain.Paper, *usecase.Member, *sink) {
	t.Helper()
	st := memory.New(memory.Options{HistorySize: history, PresenceTTL: time.Minute})
	bus := &lossyBus{Bus: st}
	hub := usecase.NewHub(st, st, bus, paper.DefaultLimits(), usecase.HubOptions{}, nil, quiet)
	papers := usecase.NewPapers(st, bus, paper.DefaultLimits())
	p, _, _ := papers.Create(context.Background(), "t", "", "")
	s := newSink()
	m, err := hub.Join(context.Background(), usecase.JoinRequest{PaperID: p.ID}, s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		m.Leave()
		hub.Close()
		st.Close()
	})
	return bus, papers, p, m, s
}

func TestLostEventsAreRecoveredFromHistory(t *testing.T) {
	bus, papers, p, m, s := lossyRoom(t, 100)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	bus.setDrop(func(f []byte) bool {
		_, seq, _ := protocol.EventHeader(f)
		return seq > 0 && seq < 40 && rng.IntN(3) == 0
	})
	for i := 0; i < 40; i++ {
		if _, err := m.Edit(ctx, upsert(fmt.Sprint("n", i%3), "i", i)); err != nil {
			t.Fatal(err)
		}
	}
	waitSeq(t, s, 40)
	frames, _ := s.snapshot()
	els, seq := replay(t, frames, nil)
	doc, _ := papers.Document(ctx, p.ID)
	if seq != 40 || !reflect.DeepEqual(els, docElements(doc)) {
		t.Fatalf("after recovery: seq %d, view differs: %v", seq, !reflect.DeepEqual(els, docElements(doc)))
	}
}

func TestResyncWithTrimmedHistoryAsksSessionsToResume(t *testing.T) {
	bus, _, _, m, s := lossyRoom(t, 5)
	ctx := context.Background()
	bus.setDrop(func(f []byte) bool { _, seq, _ := protocol.EventHeader(f); return seq >= 1 && seq <= 10 })
	for i := 0; i < 11; i++ {
		if _, err := m.Edit(ctx, upsert("n1", "i", i)); err != nil {
			t.Fatal(err)
		}
	}
	waitClosed(t, s, domain.CloseResync)
}

func TestThousandsLeaveAtOnce(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	var papersList []domain.Paper
	for i := 0; i < 50; i++ {
		papersList = append(papersList, e.create(t))
	}
	var wg sync.WaitGroup
	members := make(chan *usecase.Member, 2000)
	for i := 0; i < 2000; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, err := e.hub.Join(ctx, usecase.JoinRequest{PaperID: papersList[i%50].ID}, newSink())
			if err != nil {
				t.Error(err)
				return
			}
			members <- m
		}()
	}
	wg.Wait()
	close(members)
	rooms, sessions := e.hub.Stats()
	if len(rooms) != 50 || sessions != 2000 {
		t.Fatalf("%d rooms, %d sessions", len(rooms), sessions)
	}
	for m := range members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.Leave()
			m.Leave() // twice is harmless
		}()
	}
	wg.Wait()
	assertNoRooms(t, e.hub)
	for _, p := range papersList {
		list, err := e.store.ListPresence(ctx, p.ID)
		if err != nil || len(list) != 0 {
			t.Fatalf("presence left behind on %s: %v %v", p.ID, list, err)
		}
	}
}

func TestPresenceReachesOthers(t *testing.T) {
	e := newEnv(t, nil)
	p := e.create(t)
	ctx := context.Background()
	sa, sb := newSink(), newSink()
	a, err := e.hub.Join(ctx, usecase.JoinRequest{PaperID: p.ID, User: "a", Name: "Ada"}, sa)
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.hub.Join(ctx, usecase.JoinRequest{PaperID: p.ID, User: "b", Name: "Bob"}, sb)
	if err != nil {
		t.Fatal(err)
	}
	frames, _ := sb.snapshot()
	var snap view
	_ = json.Unmarshal(frames[0], &snap)
	if len(snap.Presence) != 2 {
		t.Fatalf("snapshot presence %d entries: %s", len(snap.Presence), frames[0])
	}
	if err := a.SetPresence(ctx, json.RawMessage(`{"cursor":{"x":1,"y":2}}`)); err != nil {
		t.Fatal(err)
	}
	if err := a.SetPresence(ctx, json.RawMessage(`[1]`)); !errors.Is(err, domain.ErrInvalid) {
		t.Fatalf("array state: %v", err)
	}
	a.Leave()
	want := []string{"update", "leave"}
	deadline := time.Now().Add(5 * time.Second)
	for {
		frames, _ := sb.snapshot()
		var got []string
		for _, f := range frames[1:] {
			var v view
			_ = json.Unmarshal(f, &v)
			if v.Type == "presence" && v.Session == a.Author().Session && v.Event != "join" {
				got = append(got, v.Event)
			}
		}
		if reflect.DeepEqual(got, want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("presence events %v, want %v", got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.Leave()
}

func TestSessionLimits(t *testing.T) {
	st := memory.New(memory.Options{PresenceTTL: time.Minute})
	defer st.Close()
	hub := usecase.NewHub(st, st, st, paper.DefaultLimits(), usecase.HubOptions{MaxSessionsPerPaper: 2, MaxSessions: 3}, nil, quiet)
	defer hub.Close()
	papers := usecase.NewPapers(st, st, paper.DefaultLimits())
	ctx := context.Background()
	p1, _, _ := papers.Create(ctx, "one", "", "")
	p2, _, _ := papers.Create(ctx, "two", "", "")
	join := func(id string) (*usecase.Member, error) {
		return hub.Join(ctx, usecase.JoinRequest{PaperID: id}, newSink())
	}
	a, err := join(p1.ID)
	if err != nil {
		t.Fatal(err)
	}
	b, err := join(p1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := join(p1.ID); !errors.Is(err, domain.ErrFull) {
		t.Fatalf("third session on a paper with room for 2: %v", err)
	}
	c, err := join(p2.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := join(p2.ID); !errors.Is(err, domain.ErrFull) {
		t.Fatalf("fourth session on a replica with room for 3: %v", err)
	}
	a.Leave()
	d, err := join(p2.ID)
	if err != nil {
		t.Fatalf("a freed place was not reusable: %v", err)
	}
	for _, m := range []*usecase.Member{b, c, d} {
		m.Leave()
	}
	assertNoRooms(t, hub)
}

// TestBusyRoomCoalescesPresence: past the immediate threshold a room passes
// on only each session's latest presence, within its budget, and a join that
// is left before anyone saw it is never shown; every view of who is here
// still ends right.
func TestBusyRoomCoalescesPresence(t *testing.T) {
	st := memory.New(memory.Options{PresenceTTL: time.Minute})
	defer st.Close()
	hub := usecase.NewHub(st, st, st, paper.DefaultLimits(), usecase.HubOptions{
		PresenceImmediateBelow: 3, PresenceFlush: 20 * time.Millisecond, PresenceBudget: 200,
	}, nil, quiet)
	defer hub.Close()
	papers := usecase.NewPapers(st, st, paper.DefaultLimits())
	ctx := context.Background()
	p, _, _ := papers.Create(ctx, "busy", "", "")
	var sinks []*sink
	var members []*usecase.Member
	for i := 0; i < 6; i++ {
		s := newSink()
		m, err := hub.Join(ctx, usecase.JoinRequest{PaperID: p.ID, User: fmt.Sprint("u", i)}, s)
		if err != nil {
			t.Fatal(err)
		}
		sinks, members = append(sinks, s), append(members, m)
	}
	mover := members[0]
	for i := 0; i <= 100; i++ {
		if err := mover.SetPresence(ctx, json.RawMessage(fmt.Sprintf(`{"x":%d}`, i))); err != nil {
			t.Fatal(err)
		}
	}
	ghost, err := hub.Join(ctx, usecase.JoinRequest{PaperID: p.ID, User: "ghost"}, newSink())
	if err != nil {
		t.Fatal(err)
	}
	ghost.Leave()
	// Everyone's view of who is here must settle on the six live sessions,
	// with the mover's latest state, after far fewer than 101 updates.
	deadline := time.Now().Add(5 * time.Second)
	for i, s := range sinks[1:] {
		for {
			frames, _ := s.snapshot()
			here, states, updates := presenceView(frames)
			if len(here) == 6 && string(states[mover.Author().Session]) == `{"x":100}` {
				if updates >= 101 {
					t.Fatalf("session %d got all %d updates: nothing was coalesced", i+1, updates)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("session %d sees %d here, mover state %s", i+1, len(here), states[mover.Author().Session])
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	for _, m := range members {
		m.Leave()
	}
}

// presenceView replays presence frames as a frontend would.
func presenceView(frames [][]byte) (here map[string]bool, states map[string]json.RawMessage, updates int) {
	here, states = map[string]bool{}, map[string]json.RawMessage{}
	for _, f := range frames {
		var v struct {
			Type, Event, Session string
			State                json.RawMessage
			Presence             []struct {
				Session string
				State   json.RawMessage
			}
		}
		_ = json.Unmarshal(f, &v)
		switch {
		case v.Type == "snapshot" || v.Type == "resumed":
			for _, p := range v.Presence {
				here[p.Session], states[p.Session] = true, p.State
			}
		case v.Type == "presence" && v.Event == "leave":
			delete(here, v.Session)
		case v.Type == "presence":
			here[v.Session], states[v.Session] = true, v.State
			if v.Event == "update" {
				updates++
			}
		}
	}
	return here, states, updates
}

func TestHeartbeatRestoresAPurgedPresenceEntry(t *testing.T) {
	st := memory.New(memory.Options{PresenceTTL: time.Minute})
	t.Cleanup(st.Close)
	hub := usecase.NewHub(st, st, st, paper.DefaultLimits(), usecase.HubOptions{PresenceHeartbeat: 20 * time.Millisecond}, nil, quiet)
	t.Cleanup(hub.Close)
	papers := usecase.NewPapers(st, st, paper.DefaultLimits())
	ctx := context.Background()
	p, _, _ := papers.Create(ctx, "t", "", "")
	m := join(t, hub, usecase.JoinRequest{PaperID: p.ID, User: "ada"}, newSink())
	if err := m.SetPresence(ctx, json.RawMessage(`{"x":7}`)); err != nil {
		t.Fatal(err)
	}
	// Another replica's sweep purges the entry.
	if err := st.RemovePresence(ctx, p.ID, domain.Presence{Session: m.Author().Session}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		list, err := st.ListPresence(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) == 1 && list[0].Session == m.Author().Session && string(list[0].State) == `{"x":7}` {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("presence not restored: %+v", list)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
