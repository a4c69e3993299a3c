package archive

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/protocol"
)

func doc() domain.Document {
	at := time.Date(2026, 12, 2, 21, 0, 0, 0, time.UTC)
	fin := at.Add(time.Minute)
	return domain.Document{
		Paper: domain.Paper{ID: "p1", Title: "T", To: "Ana", Status: domain.StatusFinal, Seq: 7, Epoch: "ep",
			CreatedAt: at, FinalizedAt: &fin, Edit: domain.EditAuthors, OwnerKeyHash: []byte{1, 2, 3}},
		Elements: []domain.Element{
			{ID: "b", By: domain.ElementAuthor{User: "u", Name: "N"}, CreatedAt: at,
				Fields: map[string]json.RawMessage{"text": json.RawMessage(`"<&>"`), "x": json.RawMessage(`1.50`)}},
			{ID: "a", Fields: map[string]json.RawMessage{}},
		},
	}
}

// The stored elements are the bytes a client reads (snapshot frames, GET
// /v1/papers/{id}), and the stored ETag is the one REST sends: an archived
// paper looks to clients exactly as it did live.
func TestRowHoldsTheWireElementsAndTheETag(t *testing.T) {
	d := doc()
	r, err := ToRow(d)
	if err != nil {
		t.Fatal(err)
	}
	if want := string(protocol.AppendElements(nil, d.Elements)); r.Elements != want {
		t.Fatalf("elements %s, want %s", r.Elements, want)
	}
	if r.ETag != d.Paper.ETag() || r.ETag != `"ep-7"` {
		t.Fatalf("etag %s, want %s", r.ETag, d.Paper.ETag())
	}
	back, err := r.Document()
	if err != nil {
		t.Fatal(err)
	}
	for i := range d.Elements {
		if !sameElement(back.Elements[i], d.Elements[i]) {
			t.Fatalf("element %d: %+v, want %+v", i, back.Elements[i], d.Elements[i])
		}
	}
	if back.Paper.ETag() != r.ETag {
		t.Fatalf("document's etag %s, row's %s", back.Paper.ETag(), r.ETag)
	}
}

func TestDecodeElementsRefusesWhatTheArchiveNeverWrites(t *testing.T) {
	for _, in := range []string{
		``, `null`, `{}`, `[1]`, `[null]`, `[{}]`, `[{"id":1}]`, `[{"id":"a","by":{}}]`, `[{"id":"a","by":"u"}]`,
		`[{"id":"a","createdAt":"yesterday"}]`, `[{"id":"a","createdAt":"2026-01-01T00:00:00.5Z"}]`, `[{"id":"a"}`,
	} {
		if _, err := DecodeElements([]byte(in)); err == nil {
			t.Errorf("DecodeElements(%s) succeeded", in)
		}
	}
}

func TestToRowErrorsAreInvalid(t *testing.T) {
	d := doc()
	d.Elements[0].Fields["id"] = json.RawMessage(`"x"`)
	_, err := ToRow(d)
	if !errors.Is(err, domain.ErrInvalid) || !strings.Contains(err.Error(), `element 0 ("b")`) {
		t.Fatalf("ToRow = %v, want ErrInvalid naming the element", err)
	}
}

// The archive reads bytes back from a database that anyone with access may
// have written: the decoder must never panic, and whatever it accepts must
// encode and decode to the same elements (so a Get then Put keeps them).
func FuzzDecodeElements(f *testing.F) {
	f.Add(protocol.AppendElements(nil, doc().Elements))
	f.Add([]byte(`[]`))
	f.Add([]byte(`[{"id":"a","by":{"user":"u","name":""},"createdAt":"2026-01-01T01:00:00+01:00","k":{ "z" : [ ] }}]`))
	f.Add([]byte(`[{"id":"a","id":"b","by":{"user":"\ud800"},"\u00e9":"\u2028"}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		els, err := DecodeElements(data)
		if err != nil {
			return
		}
		again, err := DecodeElements(protocol.AppendElements(nil, els))
		if err != nil {
			t.Fatalf("re-encoded elements do not decode: %v", err)
		}
		if len(again) != len(els) {
			t.Fatalf("%d elements, then %d", len(els), len(again))
		}
		for i := range els {
			if !sameElement(els[i], again[i]) {
				t.Fatalf("element %d: %+v, then %+v", i, els[i], again[i])
			}
		}
	})
}
