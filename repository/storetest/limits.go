package storetest

import (
	"encoding/json"
	"fmt"
	"maps"
	"testing"

	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/protocol"
	"github.com/papercast/papercast/usecase"
)

// fieldsN returns n fields f00.. with small values.
func fieldsN(n int) map[string]json.RawMessage {
	f := make(map[string]json.RawMessage, n)
	for i := range n {
		f[fmt.Sprintf("f%02d", i)] = json.RawMessage(fmt.Sprint(i))
	}
	return f
}

// elementIDs returns n element ids e00...
func elementIDs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("e%02d", i)
	}
	return out
}

func testLimits(t *testing.T, e *env) {
	l := e.Limits
	exact, _ := sizedFields(l, l.MaxElementBytes) // check() made sure these exist
	over, _ := sizedFields(l, l.MaxElementBytes+1)
	// grown is exact with its first value one byte longer: max+1 bytes.
	grown := map[string]json.RawMessage{"f00": strValue(len(exact["f00"]) + 1)}

	fillElements := func(n int) []domain.Op {
		var ops []domain.Op
		for _, id := range elementIDs(n) {
			ops = append(ops, up(id, "v", "1"))
		}
		return ops
	}
	atMaxFields := upFields("n1", fieldsN(l.MaxFields))
	oneMore := up("n1", "extra", "1")
	swap := maps.Clone(oneMore.Fields)
	swap["f00"] = json.RawMessage("null")

	// Each case applies setup to a fresh paper, then op, and expects err.
	// A rejected op must change nothing, publish nothing and take no seq;
	// an accepted one must take the next seq.
	cases := []struct {
		name  string
		setup []domain.Op
		op    domain.Op
		err   error
	}{
		{"ExactlyMaxFieldsIsAccepted", nil, atMaxFields, nil},
		{"MergePastMaxFieldsIsTooLarge", []domain.Op{atMaxFields}, oneMore, domain.ErrTooLarge},
		{"ReplacingFieldsAtMaxFieldsIsAccepted", []domain.Op{atMaxFields}, upFields("n1", fieldsN(2)), nil},
		{"NullMakesRoomForANewFieldInTheSameOp", []domain.Op{atMaxFields}, upFields("n1", swap), nil},
		{"ElementOfExactlyMaxBytesIsAccepted", nil, upFields("n1", exact), nil},
		{"NewElementOneByteOverMaxBytesIsTooLarge", nil, upFields("n1", over), domain.ErrTooLarge},
		{"GrowingAFieldPastMaxBytesIsTooLarge", []domain.Op{upFields("n1", exact)}, upFields("n1", grown), domain.ErrTooLarge},
		{"MaxElementsAreAccepted", fillElements(l.MaxElements - 1), up("last", "v", "1"), nil},
		{"OneElementPastMaxElementsIsTooLarge", fillElements(l.MaxElements), up("last", "v", "1"), domain.ErrTooLarge},
		{"AllNullNewElementPastMaxElementsIsTooLarge", fillElements(l.MaxElements), up("last", "v", "null"), domain.ErrTooLarge},
		{"UpdatingAnElementAtMaxElementsIsAccepted", fillElements(l.MaxElements), up("e00", "w", "2"), nil},
		{"DeleteFreesRoomForANewElement", append(fillElements(l.MaxElements), del("e01")), up("last", "v", "1"), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := e.newPaper(t)
			rec, _ := e.subscribe(t, p.ID)
			done := e.applyAll(t, p.ID, 0, c.setup)
			before := e.snapshot(t, p.ID)
			body := protocol.OpBody(c.op, author)
			seq, err := e.Store.Apply(t.Context(), p.ID, c.op, body, usecase.OpOrder{}, editor)
			wantErr(t, "Apply", err, c.err)

			m := newModel()
			for _, a := range done {
				m.apply(a.op)
			}
			want := framesOf(done)
			if c.err == nil {
				if seq != uint64(len(c.setup))+1 {
					t.Fatalf("accepted op got seq %d, want %d", seq, len(c.setup)+1)
				}
				m.apply(c.op)
				want = append(want, (applied{body: body, seq: seq}).frame())
			} else {
				if s := e.seqOf(t, p.ID); s != uint64(len(c.setup)) {
					t.Fatalf("seq %d after a rejected op, want %d", s, len(c.setup))
				}
				if d := diffElements(e.snapshot(t, p.ID).Elements, before.Elements); d != "" {
					t.Fatalf("rejected op changed the document: %s", d)
				}
				// The next op takes the very next seq.
				nextOp := up("after", "v", "1")
				if len(c.setup) > 0 {
					nextOp = del(c.setup[0].ID)
				}
				next := e.apply(t, p.ID, nextOp)
				if next.seq != uint64(len(c.setup))+1 {
					t.Fatalf("op after a rejected one got seq %d, want %d", next.seq, len(c.setup)+1)
				}
				m.apply(next.op)
				want = append(want, next.frame())
			}
			if d := diffElements(e.snapshot(t, p.ID).Elements, m.elements()); d != "" {
				t.Fatalf("snapshot: %s", d)
			}
			wantFrames(t, "subscriber up to a barrier", e.barrier(t, rec, p.ID), want)
		})
	}
}
