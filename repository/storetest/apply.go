package storetest

import (
	"fmt"
	"testing"

	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/usecase"
)

// applyCase is ops applied to a fresh paper and the elements they leave.
type applyCase struct {
	name string
	ops  []domain.Op
	want []domain.Element
}

// applyCases each apply ops to a fresh paper and check: consecutive seqs
// from 1, the snapshot's elements, and that subscribers and History see
// exactly protocol.OpFrame(seq, body) per op, in seq order.
var applyCases = []applyCase{
	{
		name: "UpsertCreatesAnElement",
		ops:  []domain.Op{up("n1", "text", `"Happy birthday!"`, "x", "10")},
		want: []domain.Element{el("n1", "text", `"Happy birthday!"`, "x", "10")},
	},
	{
		name: "UpsertMergesIntoAnExistingElement",
		ops:  []domain.Op{up("n1", "text", `"hi"`, "x", "1"), up("n1", "x", "2", "color", `"#ffd"`)},
		want: []domain.Element{el("n1", "text", `"hi"`, "x", "2", "color", `"#ffd"`)},
	},
	{
		name: "NullRemovesAField",
		ops:  []domain.Op{up("n1", "a", "1", "b", "2"), up("n1", "a", "null")},
		want: []domain.Element{el("n1", "b", "2")},
	},
	{
		name: "NullOnAMissingFieldChangesNothingButTakesASeq",
		ops:  []domain.Op{up("n1", "a", "1"), up("n1", "zz", "null")},
		want: []domain.Element{el("n1", "a", "1")},
	},
	{
		name: "RemovingEveryFieldKeepsTheElement",
		ops:  []domain.Op{up("n1", "a", "1"), up("n1", "a", "null")},
		want: []domain.Element{el("n1")},
	},
	{
		name: "AllNullUpsertCreatesAnEmptyElement",
		ops:  []domain.Op{up("n1", "a", "null")},
		want: []domain.Element{el("n1")},
	},
	{
		name: "ElementsKeepCreationOrderNotIDOrUpdateOrder",
		ops:  []domain.Op{up("b", "v", "1"), up("a", "v", "2"), up("c", "v", "3"), up("b", "v", "4"), up("a", "w", "5")},
		want: []domain.Element{el("b", "v", "4"), el("a", "v", "2", "w", "5"), el("c", "v", "3")},
	},
	{
		name: "DeleteRemovesAnElement",
		ops:  []domain.Op{up("a", "v", "1"), up("b", "v", "2"), del("a")},
		want: []domain.Element{el("b", "v", "2")},
	},
	{
		name: "ReCreatedElementGoesToTheEndWithOnlyItsNewFields",
		ops:  []domain.Op{up("a", "v", "1", "old", "true"), up("b", "v", "2"), up("c", "v", "3"), del("a"), up("a", "v", "9")},
		want: []domain.Element{el("b", "v", "2"), el("c", "v", "3"), el("a", "v", "9")},
	},
	{
		// Stores keep each value byte for byte as the client sent it (no
		// re-encoding: number formats, key order, escapes all survive), so
		// every client's replay equals the stored document.
		name: "ValuesAreStoredByteForByte",
		ops: []domain.Op{
			up("n1", "num", "1.0", "big", "12345678901234567890", "uni", `"\u00e9\u2028"`),
			up("n2", "obj", `{"b":1,"a":[]}`, "esc", `"a/b<&>"`, "emp", `{}`),
			up("n3", "neg", "-0", "exp", "1e400", "arr", `[]`),
		},
		want: []domain.Element{
			el("n1", "num", "1.0", "big", "12345678901234567890", "uni", `"\u00e9\u2028"`),
			el("n2", "obj", `{"b":1,"a":[]}`, "esc", `"a/b<&>"`, "emp", `{}`),
			el("n3", "neg", "-0", "exp", "1e400", "arr", `[]`),
		},
	},
	{
		name: "ElementAndFieldNamesUseTheWholeAlphabet",
		ops:  []domain.Op{up("A-z_09", "Z-a_90", `"v"`)},
		want: []domain.Element{el("A-z_09", "Z-a_90", `"v"`)},
	},
}

func testApply(t *testing.T, e *env) {
	for _, c := range applyCases {
		t.Run(c.name, func(t *testing.T) { applyOnAFreshPaper(t, e, c) })
	}
	subtests(t, e, []subtest{
		{"FinalDocumentEqualsReplayOfItsFrames", finalDocumentEqualsReplayOfItsFrames},
		{"OpOlderThanOneAppliedForItsSessionIsRefused", opOlderThanOneAppliedForItsSessionIsRefused},
		{"RejectedOpsTakeNoSeqAndPublishNothing", rejectedOpsTakeNoSeqAndPublishNothing},
	})
}

func applyOnAFreshPaper(t *testing.T, e *env, c applyCase) {
	p := e.newPaper(t)
	rec, _ := e.subscribe(t, p.ID)
	done := e.applyAll(t, p.ID, 0, c.ops)
	want := framesOf(done)

	doc := e.snapshot(t, p.ID)
	if d := diffElements(doc.Elements, c.want); d != "" {
		t.Fatalf("snapshot: %s", d)
	}
	if doc.Paper.Seq != uint64(len(c.ops)) {
		t.Fatalf("snapshot seq %d, want %d", doc.Paper.Seq, len(c.ops))
	}
	if s := e.seqOf(t, p.ID); s != uint64(len(c.ops)) {
		t.Fatalf("Paper().Seq %d, want %d", s, len(c.ops))
	}
	wantFrames(t, "subscriber", rec.waitN(t, len(want)), want)
	evs, cur, err := e.Store.History(t.Context(), p.ID, p.Epoch, 0)
	if err != nil {
		t.Fatalf("History: %v", err)
	}
	if cur != uint64(len(c.ops)) {
		t.Fatalf("History current seq %d, want %d", cur, len(c.ops))
	}
	wantFrames(t, "History", eventFrames(evs), want)
	for i, ev := range evs {
		if ev.Kind != domain.EventOp || ev.Seq != uint64(i+1) {
			t.Fatalf("History event %d has kind %q seq %d, want %q %d", i, ev.Kind, ev.Seq, domain.EventOp, i+1)
		}
	}
	// Nothing else was published (the barrier comes right after).
	wantFrames(t, "subscriber up to a barrier", e.barrier(t, rec, p.ID), want)
}

func finalDocumentEqualsReplayOfItsFrames(t *testing.T, e *env) {
	// The same guarantee, stated as clients rely on it: decoding the op
	// frames and merging them with paper.Merge rebuilds the document.
	p := e.newPaper(t)
	rec, _ := e.subscribe(t, p.ID)
	var ops []domain.Op
	for _, c := range applyCases {
		ops = append(ops, c.ops...)
		ops = append(ops, del("n1"), up("n1", "again", "true"))
	}
	// Keep within MaxElements: delete whatever the cases created first.
	m := newModel()
	var seq uint64
	for _, op := range ops {
		if op.Kind == domain.OpDelete {
			if _, ok := m.fields[op.ID]; !ok {
				continue
			}
		}
		if _, ok := m.fields[op.ID]; !ok && op.Kind == domain.OpUpsert && len(m.order) >= e.Limits.MaxElements {
			first := m.order[0]
			e.apply(t, p.ID, del(first))
			m.apply(del(first))
			seq++
		}
		a := e.apply(t, p.ID, op)
		seq++
		if a.seq != seq {
			t.Fatalf("seq %d, want %d", a.seq, seq)
		}
		m.apply(op)
	}
	replay := newModel()
	for i, f := range rec.waitN(t, int(seq)) {
		of, err := decodeOpFrame(f)
		if err != nil {
			t.Fatal(err)
		}
		if of.Type != "op" || of.Seq != uint64(i+1) {
			t.Fatalf("frame %d is %s", i, f)
		}
		replay.apply(domain.Op{Kind: of.Op, ID: of.ID, Fields: of.Fields})
	}
	doc := e.snapshot(t, p.ID)
	if d := diffElements(doc.Elements, replay.elements()); d != "" {
		t.Fatalf("snapshot vs replay of frames: %s", d)
	}
	if d := diffElements(doc.Elements, m.elements()); d != "" {
		t.Fatalf("snapshot vs model: %s", d)
	}
}

func opOlderThanOneAppliedForItsSessionIsRefused(t *testing.T, e *env) {
	// An op whose call timed out may reach the store after the same
	// session's next op: it must not overwrite it (usecase.OpOrder).
	p := e.newPaper(t)
	rec, _ := e.subscribe(t, p.ID)
	s1 := func(n uint64) usecase.OpOrder { return usecase.OpOrder{Session: "s1", N: n} }
	var done []applied
	done = append(done, e.applyAs(t, p.ID, up("n1", "text", `"Hello world"`), s1(2)))
	for _, n := range []uint64{1, 2} {
		_, err := e.Store.Apply(t.Context(), p.ID, up("n1", "text", `"Hello"`), []byte(`"op":"x"}`), s1(n), editor)
		wantErr(t, fmt.Sprintf("op %d of s1 after its op 2", n), err, usecase.ErrStaleOp)
	}
	// Other sessions and session-less calls are not held back by s1.
	done = append(done, e.applyAs(t, p.ID, up("n1", "w", "1"), usecase.OpOrder{Session: "s2", N: 1}))
	done = append(done, e.apply(t, p.ID, up("n1", "x", "1")))
	// An op refused for another reason does not move the session on.
	_, err := e.Store.Apply(t.Context(), p.ID, del("nope"), []byte(`"op":"x"}`), s1(9), editor)
	wantErr(t, "delete of an unknown element", err, domain.ErrNotFound)
	done = append(done, e.applyAs(t, p.ID, up("n1", "text", `"Hello world!"`), s1(3)))
	// Nor does a session's first op, refused.
	_, err = e.Store.Apply(t.Context(), p.ID, del("nope"), []byte(`"op":"x"}`), usecase.OpOrder{Session: "s3", N: 9}, editor)
	wantErr(t, "s3's first op, a delete of an unknown element", err, domain.ErrNotFound)
	done = append(done, e.applyAs(t, p.ID, up("n1", "w", "2"), usecase.OpOrder{Session: "s3", N: 1}))
	for i, a := range done {
		if a.seq != uint64(i+1) {
			t.Fatalf("op %d got seq %d, want %d", i, a.seq, i+1)
		}
	}
	if d := diffElements(e.snapshot(t, p.ID).Elements, []domain.Element{el("n1", "text", `"Hello world!"`, "w", "2", "x", "1")}); d != "" {
		t.Fatalf("snapshot: %s", d)
	}
	wantFrames(t, "subscriber up to a barrier", e.barrier(t, rec, p.ID), framesOf(done))
}

func rejectedOpsTakeNoSeqAndPublishNothing(t *testing.T, e *env) {
	p := e.newPaper(t)
	rec, _ := e.subscribe(t, p.ID)
	done := e.applyAll(t, p.ID, 0, []domain.Op{up("a", "v", "1"), up("b", "v", "2"), del("b")})
	before := e.snapshot(t, p.ID)
	rejected := []struct {
		name string
		op   domain.Op
		err  error
	}{
		{"DeleteOfAnUnknownElement", del("nope"), domain.ErrNotFound},
		{"DeleteOfADeletedElement", del("b"), domain.ErrNotFound},
	}
	for _, r := range rejected {
		_, err := e.Store.Apply(t.Context(), p.ID, r.op, []byte(`"op":"x"}`), usecase.OpOrder{}, editor)
		wantErr(t, r.name, err, r.err)
	}
	if s := e.seqOf(t, p.ID); s != 3 {
		t.Fatalf("seq %d after rejected ops, want 3", s)
	}
	if d := diffElements(e.snapshot(t, p.ID).Elements, before.Elements); d != "" {
		t.Fatalf("rejected ops changed the document: %s", d)
	}
	next := e.apply(t, p.ID, del("a"))
	if next.seq != 4 {
		t.Fatalf("next op got seq %d, want 4", next.seq)
	}
	wantFrames(t, "subscriber", rec.waitN(t, 4), append(framesOf(done), next.frame()))
	wantFrames(t, "subscriber up to a barrier", e.barrier(t, rec, p.ID), append(framesOf(done), next.frame()))
}
