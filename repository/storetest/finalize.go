package storetest

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/protocol"
	"github.com/papercast/papercast/usecase"
)

func testFinalize(t *testing.T, e *env) {
	subtests(t, e, []subtest{
		{"FinalizeSetsStatusTakesASeqAndPublishes", finalizeSetsStatusTakesASeqAndPublishes},
		{"FinalizingTwiceIsConflictAndTakesNoSeq", finalizingTwiceIsConflictAndTakesNoSeq},
		{"FinalPaperRejectsEveryOp", finalPaperRejectsEveryOp},
		{"FinalizeDropsTheHistory", finalizeDropsTheHistory},
	})
}

func finalizeSetsStatusTakesASeqAndPublishes(t *testing.T, e *env) {
	p := e.newPaper(t)
	rec, _ := e.subscribe(t, p.ID)
	done := e.applyAll(t, p.ID, 0, []domain.Op{up("n1", "a", "1"), up("n2", "b", "2")})
	at := time.Now().UTC().Truncate(time.Second).Add(time.Minute)
	got, err := e.Store.Finalize(t.Context(), p.ID, at)
	if err != nil {
		t.Fatalf("Finalize: %v", err)
	}
	want := p
	want.Status, want.Seq, want.FinalizedAt = domain.StatusFinal, 3, &at
	if d := diffPaper(got, want); d != "" {
		t.Fatalf("Finalize returned %s", d)
	}
	stored, err := e.Store.Paper(t.Context(), p.ID)
	if err != nil {
		t.Fatalf("Paper: %v", err)
	}
	if d := diffPaper(stored, want); d != "" {
		t.Fatalf("Paper after Finalize: %s", d)
	}
	doc := e.snapshot(t, p.ID)
	if d := diffPaper(doc.Paper, want); d != "" {
		t.Fatalf("Snapshot after Finalize: %s", d)
	}
	if d := diffElements(doc.Elements, []domain.Element{el("n1", "a", "1"), el("n2", "b", "2")}); d != "" {
		t.Fatalf("Finalize changed the elements: %s", d)
	}
	frames := append(framesOf(done), protocol.FinalizedFrame(3))
	wantFrames(t, "subscriber", rec.waitN(t, 3), frames)
}

// A final paper keeps no resume history: its final state is its snapshot,
// so a resume from before the final seq is told the history is gone (and
// falls back to the snapshot), while one at the final seq is up to date.
func finalizeDropsTheHistory(t *testing.T, e *env) {
	p := e.newPaper(t)
	e.applyAll(t, p.ID, 0, []domain.Op{up("n1", "a", "1"), up("n2", "b", "2")})
	if _, err := e.Store.Finalize(t.Context(), p.ID, time.Now()); err != nil {
		t.Fatalf("Finalize: %v", err)
	}
	for _, since := range []uint64{0, 2} {
		_, cur, err := e.Store.History(t.Context(), p.ID, p.Epoch, since)
		wantErr(t, fmt.Sprintf("History since %d of a final paper", since), err, usecase.ErrHistoryGone)
		if cur != 3 {
			t.Fatalf("History since %d: current seq %d, want 3", since, cur)
		}
	}
	evs, cur, err := e.Store.History(t.Context(), p.ID, p.Epoch, 3)
	if err != nil || cur != 3 || len(evs) != 0 {
		t.Fatalf("History since the final seq = %d events, cur %d, %v; want none, 3, nil", len(evs), cur, err)
	}
}

func finalizingTwiceIsConflictAndTakesNoSeq(t *testing.T, e *env) {
	p := e.newPaper(t)
	rec, _ := e.subscribe(t, p.ID)
	at := time.Now().UTC().Truncate(time.Second)
	if _, err := e.Store.Finalize(t.Context(), p.ID, at); err != nil {
		t.Fatalf("Finalize: %v", err)
	}
	_, err := e.Store.Finalize(t.Context(), p.ID, at.Add(time.Hour))
	wantErr(t, "second Finalize", err, domain.ErrConflict)
	got, err := e.Store.Paper(t.Context(), p.ID)
	if err != nil {
		t.Fatalf("Paper: %v", err)
	}
	if got.Seq != 1 || got.FinalizedAt == nil || !got.FinalizedAt.Equal(at) {
		t.Fatalf("after a second Finalize: seq %d finalizedAt %v, want 1 and %v", got.Seq, got.FinalizedAt, at)
	}
	wantFrames(t, "subscriber up to a barrier", e.barrier(t, rec, p.ID), [][]byte{protocol.FinalizedFrame(1)})
}

func finalPaperRejectsEveryOp(t *testing.T, e *env) {
	p := e.newPaper(t)
	rec, _ := e.subscribe(t, p.ID)
	done := e.applyAll(t, p.ID, 0, []domain.Op{up("n1", "a", "1")})
	if _, err := e.Store.Finalize(t.Context(), p.ID, time.Now()); err != nil {
		t.Fatalf("Finalize: %v", err)
	}
	big, _ := sizedFields(e.Limits, e.Limits.MaxElementBytes+1)
	for _, c := range []struct {
		name string
		op   domain.Op
	}{
		{"UpsertOfANewElement", up("n2", "a", "1")},
		{"UpsertOfAnExistingElement", up("n1", "a", "2")},
		{"DeleteOfAnExistingElement", del("n1")},
		{"DeleteOfAnUnknownElement", del("nope")},
		{"OversizedUpsert", upFields("n1", big)},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.Store.Apply(t.Context(), p.ID, c.op, protocol.OpBody(c.op, author), usecase.OpOrder{}, editor)
			wantErr(t, "Apply", err, domain.ErrFinalized)
		})
	}
	if s := e.seqOf(t, p.ID); s != 2 {
		t.Fatalf("seq %d, want 2", s)
	}
	if d := diffElements(e.snapshot(t, p.ID).Elements, []domain.Element{el("n1", "a", "1")}); d != "" {
		t.Fatalf("ops on a final paper changed it: %s", d)
	}
	wantFrames(t, "subscriber up to a barrier", e.barrier(t, rec, p.ID), append(framesOf(done), protocol.FinalizedFrame(2)))
}

func testDelete(t *testing.T, e *env) {
	subtests(t, e, []subtest{
		{"DeleteRemovesEverythingAndPublishesDeleted", deleteRemovesEverythingAndPublishesDeleted},
		{"ReCreatingADeletedIDStartsAFreshPaperWithANewEpoch", reCreatingADeletedIDStartsAFreshPaperWithANewEpoch},
	})
}

func deleteRemovesEverythingAndPublishesDeleted(t *testing.T, e *env) {
	p := e.newPaper(t)
	rec, _ := e.subscribe(t, p.ID)
	done := e.applyAll(t, p.ID, 0, []domain.Op{up("n1", "a", "1"), up("n2", "b", "2")})
	who := domain.Presence{Session: "s1", User: "u1", Name: "Ada", State: json.RawMessage(`{"x":1}`)}
	if err := e.Presence.SetPresence(t.Context(), p.ID, who, protocol.PresenceJoin); err != nil {
		t.Fatalf("SetPresence: %v", err)
	}
	if err := e.Store.Delete(t.Context(), p.ID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	want := append(framesOf(done), protocol.PresenceFrame(protocol.PresenceJoin, who), protocol.DeletedFrame())
	wantFrames(t, "subscriber", rec.waitN(t, len(want)), want)

	for _, c := range []struct {
		name string
		call func() error
	}{
		{"Paper", func() error { _, err := e.Store.Paper(t.Context(), p.ID); return err }},
		{"Snapshot", func() error { _, err := e.Store.Snapshot(t.Context(), p.ID); return err }},
		{"Apply", func() error {
			_, err := e.Store.Apply(t.Context(), p.ID, up("n1", "a", "2"), []byte("{}"), usecase.OpOrder{}, editor)
			return err
		}},
		{"Finalize", func() error { _, err := e.Store.Finalize(t.Context(), p.ID, time.Now()); return err }},
		{"History", func() error { _, _, err := e.Store.History(t.Context(), p.ID, p.Epoch, 0); return err }},
		{"DeleteAgain", func() error { return e.Store.Delete(t.Context(), p.ID) }},
	} {
		t.Run(c.name+"IsNotFound", func(t *testing.T) { wantErr(t, c.name, c.call(), domain.ErrNotFound) })
	}
	list, err := e.Presence.ListPresence(t.Context(), p.ID)
	if err != nil || len(list) != 0 {
		t.Fatalf("ListPresence after Delete = %v, %v; want empty", list, err)
	}
	// Nothing after the deleted frame (DeleteAgain published nothing).
	wantFrames(t, "subscriber up to a barrier", e.barrier(t, rec, p.ID), want)
}

func reCreatingADeletedIDStartsAFreshPaperWithANewEpoch(t *testing.T, e *env) {
	old := e.newPaper(t)
	e.applyAll(t, old.ID, 0, []domain.Op{up("n1", "a", "1")})
	if err := e.Store.Delete(t.Context(), old.ID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	in := paperFixture()
	in.ID = old.ID
	p, err := e.Store.Create(t.Context(), in)
	if err != nil {
		t.Fatalf("Create after Delete: %v", err)
	}
	if p.Seq != 0 || p.Epoch == old.Epoch || p.Epoch == "" {
		t.Fatalf("re-created paper has seq %d epoch %q (old epoch %q)", p.Seq, p.Epoch, old.Epoch)
	}
	if doc := e.snapshot(t, p.ID); len(doc.Elements) != 0 {
		t.Fatalf("re-created paper has %d elements", len(doc.Elements))
	}
	_, _, err = e.Store.History(t.Context(), p.ID, old.Epoch, 0)
	wantErr(t, "History with the old epoch", err, usecase.ErrHistoryGone)
	evs, cur, err := e.Store.History(t.Context(), p.ID, p.Epoch, 0)
	if err != nil || cur != 0 || len(evs) != 0 {
		t.Fatalf("History of the new paper = %d events, cur %d, %v", len(evs), cur, err)
	}
	if a := e.apply(t, p.ID, up("n2", "b", "2")); a.seq != 1 {
		t.Fatalf("first op of the re-created paper got seq %d", a.seq)
	}
}
