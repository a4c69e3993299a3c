package paper

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/papercast/papercast/domain"
)

func raw(s string) json.RawMessage { return json.RawMessage(s) }

func TestValidID(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"n1", true},
		{"A-z_0-9", true},
		{strings.Repeat("a", 64), true},
		{strings.Repeat("a", 65), false},
		{"", false},
		{"has space", false},
		{"dot.ted", false},
		{"colon:x", false},
		{"üni", false},
		{"{tag}", false},
	}
	for _, tt := range tests {
		if got := ValidID(tt.in); got != tt.want {
			t.Errorf("ValidID(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestValidateOp(t *testing.T) {
	l := DefaultLimits()
	many := map[string]json.RawMessage{}
	for i := 0; i < 33; i++ {
		many[strings.Repeat("f", i+1)] = raw("1")
	}
	tests := []struct {
		name string
		op   domain.Op
		want error
	}{
		{"upsert ok", domain.Op{Kind: "upsert", ID: "n1", Fields: map[string]json.RawMessage{"text": raw(`"hi"`), "x": raw("10")}}, nil},
		{"null removes", domain.Op{Kind: "upsert", ID: "n1", Fields: map[string]json.RawMessage{"text": raw("null")}}, nil},
		{"delete ok", domain.Op{Kind: "delete", ID: "n1"}, nil},
		{"delete with fields", domain.Op{Kind: "delete", ID: "n1", Fields: map[string]json.RawMessage{"a": raw("1")}}, domain.ErrInvalid},
		{"bad id", domain.Op{Kind: "upsert", ID: "n 1", Fields: map[string]json.RawMessage{"a": raw("1")}}, domain.ErrInvalid},
		{"empty id", domain.Op{Kind: "delete", ID: ""}, domain.ErrInvalid},
		{"unknown kind", domain.Op{Kind: "Upsert", ID: "n1", Fields: map[string]json.RawMessage{"a": raw("1")}}, domain.ErrInvalid},
		{"no fields", domain.Op{Kind: "upsert", ID: "n1"}, domain.ErrInvalid},
		{"reserved id field", domain.Op{Kind: "upsert", ID: "n1", Fields: map[string]json.RawMessage{"id": raw(`"x"`)}}, domain.ErrInvalid},
		{"reserved by field", domain.Op{Kind: "upsert", ID: "n1", Fields: map[string]json.RawMessage{"text": raw(`"x"`), "by": raw(`{"user":"u"}`)}}, domain.ErrInvalid},
		{"reserved createdAt field", domain.Op{Kind: "upsert", ID: "n1", Fields: map[string]json.RawMessage{"createdAt": raw(`"2026-01-01T00:00:00Z"`)}}, domain.ErrInvalid},
		{"reserved by field set to null", domain.Op{Kind: "upsert", ID: "n1", Fields: map[string]json.RawMessage{"by": raw("null")}}, domain.ErrInvalid},
		{"names are case-sensitive: By is a field", domain.Op{Kind: "upsert", ID: "n1", Fields: map[string]json.RawMessage{"By": raw(`"x"`), "createdat": raw("1")}}, nil},
		{"bad field name", domain.Op{Kind: "upsert", ID: "n1", Fields: map[string]json.RawMessage{"a.b": raw("1")}}, domain.ErrInvalid},
		{"not json", domain.Op{Kind: "upsert", ID: "n1", Fields: map[string]json.RawMessage{"a": raw("{")}}, domain.ErrInvalid},
		{"empty value", domain.Op{Kind: "upsert", ID: "n1", Fields: map[string]json.RawMessage{"a": raw("")}}, domain.ErrInvalid},
		{"value too big", domain.Op{Kind: "upsert", ID: "n1", Fields: map[string]json.RawMessage{"a": raw(`"` + strings.Repeat("x", 4095) + `"`)}}, domain.ErrTooLarge},
		{"value at limit", domain.Op{Kind: "upsert", ID: "n1", Fields: map[string]json.RawMessage{"a": raw(`"` + strings.Repeat("x", 4094) + `"`)}}, nil},
		{"too many fields", domain.Op{Kind: "upsert", ID: "n1", Fields: many}, domain.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := l.ValidateOp(tt.op)
			if tt.want == nil && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestCheckMerge(t *testing.T) {
	l := DefaultLimits()
	l.MaxFields = 3
	l.MaxElementBytes = 20
	l.MaxElements = 2
	el := map[string]json.RawMessage{"a": raw("1"), "b": raw("2")} // size 4
	tests := []struct {
		name     string
		existing map[string]json.RawMessage
		fields   map[string]json.RawMessage
		elements int
		want     error
	}{
		{"new element fits", nil, map[string]json.RawMessage{"a": raw("1")}, 1, nil},
		{"paper full", nil, map[string]json.RawMessage{"a": raw("1")}, 2, domain.ErrTooLarge},
		{"existing element on full paper", el, map[string]json.RawMessage{"a": raw("3")}, 2, nil},
		{"third field fits", el, map[string]json.RawMessage{"c": raw("3")}, 1, nil},
		{"fourth field too many", el, map[string]json.RawMessage{"c": raw("3"), "d": raw("4")}, 1, domain.ErrTooLarge},
		{"removal makes room", el, map[string]json.RawMessage{"a": raw("null"), "c": raw("3"), "d": raw("4")}, 1, nil},
		{"replace counts once", el, map[string]json.RawMessage{"a": raw("9"), "b": raw("9")}, 1, nil},
		{"bytes over", el, map[string]json.RawMessage{"c": raw(`"0123456789abcd"`)}, 1, domain.ErrTooLarge},
		{"bytes exactly", el, map[string]json.RawMessage{"c": raw(`"0123456789abc"`)}, 1, nil},
		{"null of missing field", el, map[string]json.RawMessage{"z": raw("null")}, 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := l.CheckMerge(tt.existing, tt.fields, tt.elements)
			if tt.want == nil && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestMerge(t *testing.T) {
	tests := []struct {
		name     string
		existing map[string]json.RawMessage
		fields   map[string]json.RawMessage
		want     map[string]json.RawMessage
	}{
		{"create", nil, map[string]json.RawMessage{"a": raw("1")}, map[string]json.RawMessage{"a": raw("1")}},
		{"create with null only", nil, map[string]json.RawMessage{"a": raw("null")}, map[string]json.RawMessage{}},
		{"replace and add", map[string]json.RawMessage{"a": raw("1")}, map[string]json.RawMessage{"a": raw("2"), "b": raw(`"x"`)}, map[string]json.RawMessage{"a": raw("2"), "b": raw(`"x"`)}},
		{"null removes", map[string]json.RawMessage{"a": raw("1"), "b": raw("2")}, map[string]json.RawMessage{"a": raw("null")}, map[string]json.RawMessage{"b": raw("2")}},
		{"values kept byte for byte", nil, map[string]json.RawMessage{"n": raw("1.50000000000000001"), "e": raw("[]"), "o": raw("{}")}, map[string]json.RawMessage{"n": raw("1.50000000000000001"), "e": raw("[]"), "o": raw("{}")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Merge(tt.existing, tt.fields)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestMergeCopiesValues(t *testing.T) {
	in := raw(`"abc"`)
	got := Merge(nil, map[string]json.RawMessage{"a": in})
	in[1] = 'X'
	if string(got["a"]) != `"abc"` {
		t.Fatalf("merge aliased the caller's bytes: %s", got["a"])
	}
}

func TestValidatePresence(t *testing.T) {
	l := DefaultLimits()
	tests := []struct {
		in   string
		want error
	}{
		{`{}`, nil},
		{`{"cursor":{"x":1,"y":2}}`, nil},
		{`[]`, domain.ErrInvalid},
		{`"x"`, domain.ErrInvalid},
		{``, domain.ErrInvalid},
		{`{"a":` + strings.Repeat("1", 2100) + `}`, domain.ErrTooLarge},
	}
	for _, tt := range tests {
		err := l.ValidatePresence(raw(tt.in))
		if (tt.want == nil) != (err == nil) || (tt.want != nil && !errors.Is(err, tt.want)) {
			t.Errorf("ValidatePresence(%.20q) = %v, want %v", tt.in, err, tt.want)
		}
	}
}

func TestValidateTitle(t *testing.T) {
	l := DefaultLimits()
	l.MaxTitleChars, l.MaxToChars = 200, 50
	tests := []struct {
		title, to string
		ok        bool
	}{
		{"Happy birthday", "", true},
		{strings.Repeat("é", 200), "Ada", true},
		{strings.Repeat("é", 201), "", false},
		{"", "", false},
		{"ok", strings.Repeat("é", 50), true},
		// to has its own limit, not the title's.
		{"ok", strings.Repeat("x", 51), false},
		{"\xff", "", false},
		{"ok", "\xff", false},
	}
	for _, tt := range tests {
		if err := l.ValidateTitle(tt.title, tt.to); (err == nil) != tt.ok {
			t.Errorf("ValidateTitle(%.10q, %.10q) = %v, want ok=%v", tt.title, tt.to, err, tt.ok)
		}
	}
}

func TestValidateEdit(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{domain.EditAuthors, true},
		{domain.EditOpen, true},
		{"", false},
		{"Open", false},
		{"owner", false},
	}
	for _, tt := range tests {
		if err := ValidateEdit(tt.in); (err == nil) != tt.ok || err != nil && !errors.Is(err, domain.ErrInvalid) {
			t.Errorf("ValidateEdit(%q) = %v, want ok=%v", tt.in, err, tt.ok)
		}
	}
}

func TestValidateUser(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"u42", true},
		{"anon-x y/z%", true},
		{strings.Repeat("é", 64), true},
		{strings.Repeat("a", 129), false},
		{"", false},
		{"\xff", false},
	}
	for _, tt := range tests {
		if err := ValidateUser(tt.in); (err == nil) != tt.ok || err != nil && !errors.Is(err, domain.ErrInvalid) {
			t.Errorf("ValidateUser(%.10q) = %v, want ok=%v", tt.in, err, tt.ok)
		}
	}
}

// TestLimitsValidateNamesEachBadLimit: a limit that cannot work is reported
// under its own name (app turns it into the config key limits.<name>), and no
// other limit is blamed.
func TestLimitsValidateNamesEachBadLimit(t *testing.T) {
	if err := DefaultLimits().Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	tests := []struct {
		limit string
		set   func(*Limits)
	}{
		{"max_fields", func(l *Limits) { l.MaxFields = 0 }},
		{"max_value_bytes", func(l *Limits) { l.MaxValueBytes = 3 }},
		{"max_element_bytes", func(l *Limits) { l.MaxElementBytes = 0 }},
		{"max_element_bytes", func(l *Limits) { l.MaxElementBytes = l.MaxValueBytes - 1 }},
		{"max_elements", func(l *Limits) { l.MaxElements = 0 }},
		{"max_presence_bytes", func(l *Limits) { l.MaxPresenceBytes = 1 }},
		{"max_title_chars", func(l *Limits) { l.MaxTitleChars = 0 }},
		{"max_to_chars", func(l *Limits) { l.MaxToChars = 0 }},
	}
	for _, tt := range tests {
		l := DefaultLimits()
		tt.set(&l)
		err := l.Validate()
		if err == nil {
			t.Errorf("%s: %+v accepted", tt.limit, l)
			continue
		}
		var named []string
		for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
			var le *LimitError
			if !errors.As(e, &le) {
				t.Fatalf("%s: %v is not a *LimitError", tt.limit, e)
			}
			named = append(named, le.Limit)
		}
		if !reflect.DeepEqual(named, []string{tt.limit}) {
			t.Errorf("%+v: Validate blames %v, want [%s] (%v)", l, named, tt.limit, err)
		}
	}
}

// FuzzValidateOp checks that validation never panics and that an accepted
// op merges into an element CheckMerge accepted without breaking the limits.
func FuzzValidateOp(f *testing.F) {
	f.Add("n1", "text", `"hello"`, "x", "10")
	f.Add("n-2", "a", "null", "b", `{"k":[1,2]}`)
	f.Add("", "id", `"x"`, "", "")
	f.Fuzz(func(t *testing.T, id, k1, v1, k2, v2 string) {
		l := DefaultLimits()
		op := domain.Op{Kind: domain.OpUpsert, ID: id, Fields: map[string]json.RawMessage{k1: raw(v1), k2: raw(v2)}}
		if err := l.ValidateOp(op); err != nil {
			if !errors.Is(err, domain.ErrInvalid) && !errors.Is(err, domain.ErrTooLarge) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if err := l.CheckMerge(nil, op.Fields, 0); err != nil {
			return
		}
		el := Merge(nil, op.Fields)
		if len(el) > l.MaxFields || ElementSize(el) > l.MaxElementBytes {
			t.Fatalf("merge broke limits: %d fields, %d bytes", len(el), ElementSize(el))
		}
		for _, v := range el {
			if IsNull(v) {
				t.Fatal("null stored")
			}
		}
	})
}
