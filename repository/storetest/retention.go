package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/papercast/papercast/domain"
)

// Retention: an open paper nobody touches for OpenIdle is dropped with all
// its data; ops and Touch (a join) keep it; a final paper stays.
func testRetention(t *testing.T, e *env) {
	subtests(t, e, []subtest{
		{"UntouchedOpenPaperIsDroppedWithItsData", untouchedOpenPaperIsDroppedWithItsData},
		{"OpsAndTouchesKeepAPaper", opsAndTouchesKeepAPaper},
		{"FinalPaperIsNotDropped", finalPaperIsNotDropped},
		{"TouchOfAnUnknownPaperIsNotFound", touchOfAnUnknownPaperIsNotFound},
	})
}

func untouchedOpenPaperIsDroppedWithItsData(t *testing.T, e *env) {
	p := e.newPaper(t)
	e.applyAll(t, p.ID, 0, []domain.Op{up("n1", "a", "1"), up("n2", "b", "2")})
	if err := e.Store.Ban(t.Context(), p.ID, "user-x"); err != nil {
		t.Fatalf("Ban: %v", err)
	}
	e.pass(2 * e.OpenIdle)
	_, err := e.Store.Paper(t.Context(), p.ID)
	wantErr(t, "Paper after 2x OpenIdle untouched", err, domain.ErrNotFound)
	_, err = e.Store.Snapshot(t.Context(), p.ID)
	wantErr(t, "Snapshot", err, domain.ErrNotFound)
	// The id is free again, and nothing of the old paper comes back.
	again, err := e.Store.Create(t.Context(), domain.Paper{ID: p.ID, Title: "again", Status: domain.StatusOpen, CreatedAt: time.Now()})
	if err != nil {
		t.Fatalf("Create with the dropped paper's id: %v", err)
	}
	if doc := e.snapshot(t, again.ID); len(doc.Elements) != 0 || doc.Paper.Seq != 0 {
		t.Fatalf("re-created paper holds %d elements at seq %d, want none at 0", len(doc.Elements), doc.Paper.Seq)
	}
	if banned, err := e.Store.Banned(t.Context(), p.ID, "user-x"); err != nil || banned {
		t.Fatalf("Banned on the re-created paper = %v, %v; want false", banned, err)
	}
}

func opsAndTouchesKeepAPaper(t *testing.T, e *env) {
	p := e.newPaper(t)
	// 3x OpenIdle in steps of OpenIdle/8: an op every third step, touches
	// between, and the last 2x OpenIdle touches only.
	step := e.OpenIdle / 8
	var ops uint64
	for i := range 24 {
		if i < 8 && i%3 == 0 {
			e.apply(t, p.ID, up("n1", "v", fmt.Sprint(i)))
			ops++
		} else if err := e.Store.Touch(t.Context(), p.ID); err != nil {
			t.Fatalf("Touch at step %d: %v", i, err)
		}
		e.pass(step)
	}
	doc := e.snapshot(t, p.ID)
	if len(doc.Elements) != 1 || doc.Paper.Seq != ops {
		t.Fatalf("after 3x OpenIdle of ops and touches: %d elements at seq %d, want 1 at %d", len(doc.Elements), doc.Paper.Seq, ops)
	}
}

func finalPaperIsNotDropped(t *testing.T, e *env) {
	p := e.newPaper(t)
	e.apply(t, p.ID, up("n1", "a", "1"))
	if _, err := e.Store.Finalize(t.Context(), p.ID, time.Now()); err != nil {
		t.Fatalf("Finalize: %v", err)
	}
	e.pass(2 * e.OpenIdle)
	doc := e.snapshot(t, p.ID)
	if doc.Paper.Status != domain.StatusFinal || len(doc.Elements) != 1 {
		t.Fatalf("final paper after 2x OpenIdle: status %q, %d elements", doc.Paper.Status, len(doc.Elements))
	}
	if err := e.Store.Touch(t.Context(), p.ID); err != nil {
		t.Fatalf("Touch of a final paper: %v", err)
	}
}

func touchOfAnUnknownPaperIsNotFound(t *testing.T, e *env) {
	wantErr(t, "Touch", e.Store.Touch(t.Context(), "no-such-paper"), domain.ErrNotFound)
}
