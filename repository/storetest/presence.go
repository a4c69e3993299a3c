package storetest

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/protocol"
	"github.com/papercast/papercast/usecase"
)

func who(session string, state string) domain.Presence {
	return domain.Presence{Session: session, User: "user-" + session, Name: "Name " + session, State: json.RawMessage(state)}
}

func (e *env) set(t *testing.T, paperID string, p domain.Presence, event string) []byte {
	t.Helper()
	if err := e.Presence.SetPresence(t.Context(), paperID, p, event); err != nil {
		t.Fatalf("SetPresence %s: %v", p.Session, err)
	}
	return protocol.PresenceFrame(event, p)
}

func (e *env) list(t *testing.T, paperID string) []domain.Presence {
	t.Helper()
	l, err := e.Presence.ListPresence(t.Context(), paperID)
	if err != nil {
		t.Fatalf("ListPresence: %v", err)
	}
	return l
}

// touch touches one paper and returns the sessions it reported missing.
func (e *env) touch(t *testing.T, paperID string, sessions ...string) []string {
	t.Helper()
	res := e.Presence.TouchPresence(t.Context(), []usecase.PresenceTouch{{PaperID: paperID, Sessions: sessions}})
	if len(res) != 1 {
		t.Fatalf("TouchPresence of one paper: %d results", len(res))
	}
	if res[0].Err != nil {
		t.Fatalf("TouchPresence: %v", res[0].Err)
	}
	return res[0].Missing
}

// wantList fails unless got is exactly want (same order, same bytes).
func wantList(t *testing.T, what string, got, want []domain.Presence) {
	t.Helper()
	eq := func(a, b domain.Presence) bool {
		return a.Session == b.Session && a.User == b.User && a.Name == b.Name && string(a.State) == string(b.State)
	}
	if !slices.EqualFunc(got, want, eq) {
		t.Fatalf("%s: got %s, want %s", what, presenceString(got), presenceString(want))
	}
}

func presenceString(ps []domain.Presence) string {
	out := "["
	for i, p := range ps {
		if i > 0 {
			out += " "
		}
		out += fmt.Sprintf("%s/%s/%s:%s", p.Session, p.User, p.Name, p.State)
	}
	return out + "]"
}

// presenceBarrier sets a marker entry (session "zz-barrier") and waits for
// its frame; it returns the frames published before it.
func (e *env) presenceBarrier(t *testing.T, r *recorder, paperID string) [][]byte {
	t.Helper()
	got := r.waitFor(t, e.set(t, paperID, who("zz-barrier", `{}`), protocol.PresenceJoin))
	return got[:len(got)-1]
}

func testPresence(t *testing.T, e *env) {
	subtests(t, e, []subtest{
		{"SetPublishesAndListIsOrderedBySession", setPublishesAndListIsOrderedBySession},
		{"SetAgainReplacesTheEntry", setAgainReplacesTheEntry},
		{"RemovePublishesALeaveOnlyWhenPresent", removePublishesALeaveOnlyWhenPresent},
		{"PresenceIsPerPaper", presenceIsPerPaper},
		{"EmptyPaperListsNoOne", emptyPaperListsNoOne},
		{"UntouchedEntriesExpireAndTouchPublishesTheirLeave", untouchedEntriesExpireAndTouchPublishesTheirLeave},
		{"ListHidesExpiredEntriesBeforeAnyTouch", listHidesExpiredEntriesBeforeAnyTouch},
		{"SetRefreshesTheTTL", setRefreshesTheTTL},
		{"TouchDoesNotCreateEntriesAndReportsThemMissing", touchDoesNotCreateEntriesAndReportsThemMissing},
		{"TouchManyPapersInOneCall", touchManyPapersInOneCall},
	})
}

func setPublishesAndListIsOrderedBySession(t *testing.T, e *env) {
	p := e.newPaper(t)
	rec, _ := e.subscribe(t, p.ID)
	c, a, b := who("s-c", `{"cursor":{"x":1,"y":2}}`), who("s-a", `{}`), who("s-b", `{"typing":"n1"}`)
	want := [][]byte{
		e.set(t, p.ID, c, protocol.PresenceJoin),
		e.set(t, p.ID, a, protocol.PresenceJoin),
		e.set(t, p.ID, b, protocol.PresenceJoin),
	}
	wantList(t, "ListPresence", e.list(t, p.ID), []domain.Presence{a, b, c})
	wantFrames(t, "subscriber", rec.waitN(t, 3), want)
}

func setAgainReplacesTheEntry(t *testing.T, e *env) {
	p := e.newPaper(t)
	rec, _ := e.subscribe(t, p.ID)
	a := who("s-a", `{"x":1}`)
	a2 := a
	a2.Name, a2.State = "Renamed", json.RawMessage(`{"x":2,"sel":["n1"]}`)
	want := [][]byte{e.set(t, p.ID, a, protocol.PresenceJoin), e.set(t, p.ID, a2, protocol.PresenceUpdate)}
	wantList(t, "ListPresence", e.list(t, p.ID), []domain.Presence{a2})
	wantFrames(t, "subscriber", rec.waitN(t, 2), want)
}

func removePublishesALeaveOnlyWhenPresent(t *testing.T, e *env) {
	p := e.newPaper(t)
	rec, _ := e.subscribe(t, p.ID)
	a, b := who("s-a", `{"x":1}`), who("s-b", `{}`)
	want := [][]byte{e.set(t, p.ID, a, protocol.PresenceJoin), e.set(t, p.ID, b, protocol.PresenceJoin)}
	for range 2 { // the second Remove finds nothing and publishes nothing
		if err := e.Presence.RemovePresence(t.Context(), p.ID, a); err != nil {
			t.Fatalf("RemovePresence: %v", err)
		}
	}
	if err := e.Presence.RemovePresence(t.Context(), p.ID, who("never-there", `{}`)); err != nil {
		t.Fatalf("RemovePresence of an unknown session: %v", err)
	}
	want = append(want, protocol.PresenceFrame(protocol.PresenceLeave, a))
	wantList(t, "ListPresence", e.list(t, p.ID), []domain.Presence{b})
	wantFrames(t, "subscriber up to a barrier", e.presenceBarrier(t, rec, p.ID), want)
}

func presenceIsPerPaper(t *testing.T, e *env) {
	pa, pb := e.newPaper(t), e.newPaper(t)
	recB, _ := e.subscribe(t, pb.ID)
	a := who("s-a", `{}`)
	e.set(t, pa.ID, a, protocol.PresenceJoin)
	if got := e.list(t, pb.ID); len(got) != 0 {
		t.Fatalf("paper B lists %s", presenceString(got))
	}
	if err := e.Presence.RemovePresence(t.Context(), pb.ID, a); err != nil {
		t.Fatalf("RemovePresence: %v", err)
	}
	wantList(t, "paper A", e.list(t, pa.ID), []domain.Presence{a})
	wantFrames(t, "subscriber of paper B up to a barrier", e.presenceBarrier(t, recB, pb.ID), nil)
}

func emptyPaperListsNoOne(t *testing.T, e *env) {
	p := e.newPaper(t)
	if got := e.list(t, p.ID); len(got) != 0 {
		t.Fatalf("ListPresence = %s", presenceString(got))
	}
	e.touch(t, p.ID, "nobody")
	if got := e.list(t, p.ID); len(got) != 0 {
		t.Fatalf("TouchPresence created %s", presenceString(got))
	}
}

func untouchedEntriesExpireAndTouchPublishesTheirLeave(t *testing.T, e *env) {
	p := e.newPaper(t)
	rec, _ := e.subscribe(t, p.ID)
	live, dead := who("s-live", `{"x":1}`), who("s-dead", `{"x":2}`)
	want := [][]byte{e.set(t, p.ID, live, protocol.PresenceJoin), e.set(t, p.ID, dead, protocol.PresenceJoin)}
	// Touch only live, in steps of TTL/8, until dead is 1.25 TTL old.
	step := e.PresenceTTL / 8
	start := time.Now()
	for elapsed := time.Duration(0); elapsed <= e.PresenceTTL*5/4; {
		e.touch(t, p.ID, live.Session)
		e.pass(step)
		if e.Advance != nil {
			elapsed += step
		} else {
			elapsed = time.Since(start)
		}
	}
	e.touch(t, p.ID, live.Session)
	wantList(t, "ListPresence after the TTL", e.list(t, p.ID), []domain.Presence{live})
	want = append(want, protocol.PresenceFrame(protocol.PresenceLeave, dead))
	e.touch(t, p.ID, live.Session) // a second touch publishes no second leave
	wantFrames(t, "subscriber up to a barrier", e.presenceBarrier(t, rec, p.ID), want)
}

func listHidesExpiredEntriesBeforeAnyTouch(t *testing.T, e *env) {
	p := e.newPaper(t)
	e.set(t, p.ID, who("s-a", `{}`), protocol.PresenceJoin)
	e.pass(e.PresenceTTL * 5 / 4)
	if got := e.list(t, p.ID); len(got) != 0 {
		t.Fatalf("ListPresence after the TTL = %s", presenceString(got))
	}
}

func setRefreshesTheTTL(t *testing.T, e *env) {
	p := e.newPaper(t)
	a := who("s-a", `{"v":1}`)
	e.set(t, p.ID, a, protocol.PresenceJoin)
	e.pass(e.PresenceTTL * 3 / 4)
	a.State = json.RawMessage(`{"v":2}`)
	e.set(t, p.ID, a, protocol.PresenceUpdate)
	e.pass(e.PresenceTTL / 2)
	wantList(t, "ListPresence 1.25 TTL after the join", e.list(t, p.ID), []domain.Presence{a})
}

func touchDoesNotCreateEntriesAndReportsThemMissing(t *testing.T, e *env) {
	p := e.newPaper(t)
	a := who("s-a", `{}`)
	e.set(t, p.ID, a, protocol.PresenceJoin)
	if missing := e.touch(t, p.ID, "s-a", "s-ghost"); !slices.Equal(missing, []string{"s-ghost"}) {
		t.Fatalf("missing = %v, want [s-ghost]", missing)
	}
	wantList(t, "ListPresence", e.list(t, p.ID), []domain.Presence{a})
}

func touchManyPapersInOneCall(t *testing.T, e *env) {
	pa, pb, pc := e.newPaper(t), e.newPaper(t), e.newPaper(t)
	a1, a2, b1 := who("s-a1", `{}`), who("s-a2", `{"x":2}`), who("s-b1", `{"x":1}`)
	e.set(t, pa.ID, a1, protocol.PresenceJoin)
	e.set(t, pa.ID, a2, protocol.PresenceJoin)
	e.set(t, pb.ID, b1, protocol.PresenceJoin)
	res := e.Presence.TouchPresence(t.Context(), []usecase.PresenceTouch{
		{PaperID: pa.ID, Sessions: []string{"s-a1", "s-gone"}},
		{PaperID: pb.ID, Sessions: []string{"s-b1"}},
		{PaperID: pc.ID, Sessions: []string{"s-c1", "s-c2"}},
		{PaperID: pa.ID}, // a paper twice is two touches
	})
	want := [][]string{{"s-gone"}, nil, {"s-c1", "s-c2"}, nil}
	if len(res) != len(want) {
		t.Fatalf("%d results for %d papers", len(res), len(want))
	}
	for i, r := range res {
		if r.Err != nil || !slices.Equal(r.Missing, want[i]) {
			t.Errorf("paper %d: missing %v, err %v; want missing %v", i, r.Missing, r.Err, want[i])
		}
	}
	wantList(t, "paper A", e.list(t, pa.ID), []domain.Presence{a1, a2})
	wantList(t, "paper B", e.list(t, pb.ID), []domain.Presence{b1})
	if got := e.list(t, pc.ID); len(got) != 0 {
		t.Fatalf("paper C lists %s", presenceString(got))
	}
}
