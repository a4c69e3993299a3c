package storetest

import (
	"testing"
	"time"

	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/paper"
	"github.com/papercast/papercast/usecase"
)

func testPapers(t *testing.T, e *env) {
	subtests(t, e, []subtest{
		{"PingAndReadyAreNilWhenHealthy", pingAndReadyAreNilWhenHealthy},
		{"CreateAssignsEpochAndSeqZeroAndKeepsMetadata", createAssignsEpochAndSeqZeroAndKeepsMetadata},
		{"CreateKeepsAnEmptyTo", createKeepsAnEmptyTo},
		{"EachPaperGetsItsOwnEpoch", eachPaperGetsItsOwnEpoch},
		{"CreateOfAnExistingIDIsConflictAndChangesNothing", createOfAnExistingIDIsConflictAndChangesNothing},
		{"UnknownPaperIsNotFound", unknownPaperIsNotFound},
	})
}

func pingAndReadyAreNilWhenHealthy(t *testing.T, e *env) {
	if err := e.Store.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if err := e.Bus.Ready(t.Context()); err != nil {
		t.Fatalf("Ready: %v", err)
	}
}

func createAssignsEpochAndSeqZeroAndKeepsMetadata(t *testing.T, e *env) {
	in := paperFixture()
	in.Seq, in.Epoch = 7, "caller-epoch" // the store assigns both
	got, err := e.Store.Create(t.Context(), in)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if got.Epoch == "" || got.Epoch == in.Epoch || !paper.ValidID(got.Epoch) {
		t.Fatalf("epoch %q: want a fresh random id of [A-Za-z0-9_-]", got.Epoch)
	}
	want := in
	want.Seq, want.Epoch = 0, got.Epoch
	if d := diffPaper(got, want); d != "" {
		t.Fatalf("Create returned %s", d)
	}
	stored, err := e.Store.Paper(t.Context(), in.ID)
	if err != nil {
		t.Fatalf("Paper: %v", err)
	}
	if d := diffPaper(stored, want); d != "" {
		t.Fatalf("Paper returned %s", d)
	}
	doc := e.snapshot(t, in.ID)
	if d := diffPaper(doc.Paper, want); d != "" {
		t.Fatalf("Snapshot paper: %s", d)
	}
	if len(doc.Elements) != 0 {
		t.Fatalf("new paper has %d elements", len(doc.Elements))
	}
}

func createKeepsAnEmptyTo(t *testing.T, e *env) {
	in := paperFixture()
	in.To = ""
	if _, err := e.Store.Create(t.Context(), in); err != nil {
		t.Fatalf("Create: %v", err)
	}
	got, err := e.Store.Paper(t.Context(), in.ID)
	if err != nil || got.To != "" || got.Title != in.Title {
		t.Fatalf("Paper = %+v, %v", got, err)
	}
}

func eachPaperGetsItsOwnEpoch(t *testing.T, e *env) {
	a, b := e.newPaper(t), e.newPaper(t)
	if a.Epoch == b.Epoch {
		t.Fatalf("two papers share epoch %q", a.Epoch)
	}
}

func createOfAnExistingIDIsConflictAndChangesNothing(t *testing.T, e *env) {
	orig := e.newPaper(t)
	e.apply(t, orig.ID, up("n1", "a", "1"))
	again := paperFixture()
	again.ID, again.Title = orig.ID, "another title"
	_, err := e.Store.Create(t.Context(), again)
	wantErr(t, "second Create", err, domain.ErrConflict)
	got, err := e.Store.Paper(t.Context(), orig.ID)
	if err != nil {
		t.Fatalf("Paper: %v", err)
	}
	want := orig
	want.Seq = 1
	if d := diffPaper(got, want); d != "" {
		t.Fatalf("after the conflicting Create: %s", d)
	}
	if d := diffElements(e.snapshot(t, orig.ID).Elements, []domain.Element{el("n1", "a", "1")}); d != "" {
		t.Fatalf("after the conflicting Create: %s", d)
	}
}

func unknownPaperIsNotFound(t *testing.T, e *env) {
	id := usecase.NewPaperID()
	cases := []struct {
		name string
		call func() error
	}{
		{"Paper", func() error { _, err := e.Store.Paper(t.Context(), id); return err }},
		{"Snapshot", func() error { _, err := e.Store.Snapshot(t.Context(), id); return err }},
		{"ApplyUpsert", func() error {
			_, err := e.Store.Apply(t.Context(), id, up("n1", "a", "1"), []byte("{}"), usecase.OpOrder{}, editor)
			return err
		}},
		{"ApplyDelete", func() error {
			_, err := e.Store.Apply(t.Context(), id, del("n1"), []byte("{}"), usecase.OpOrder{}, editor)
			return err
		}},
		{"Finalize", func() error { _, err := e.Store.Finalize(t.Context(), id, time.Now()); return err }},
		{"Delete", func() error { return e.Store.Delete(t.Context(), id) }},
		{"History", func() error { _, _, err := e.Store.History(t.Context(), id, "epoch", 0); return err }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantErr(t, c.name, c.call(), domain.ErrNotFound) })
	}
	if _, err := e.Store.Paper(t.Context(), id); err == nil {
		t.Fatal("a call on an unknown paper created it")
	}
}
