package moderation

import (
	"encoding/json"
	"errors"
	"maps"
	"reflect"
	"strings"
	"testing"
)

// TestMaskJSON: every string value at any depth is filtered; keys, other
// values and every byte outside a match stay as they were.
func TestMaskJSON(t *testing.T) {
	f := newTestFilter(t, Mask)
	tests := []struct {
		name, in, want string // want == in: no match
	}{
		{"field value", `{"text":"you ass"}`, `{"text":"you ***"}`},
		{"top-level string", `"ASS"`, `"***"`},
		{"nested objects and arrays", `{"a":{"b":["x",{"c":"Ass!"}],"d":"ok"}}`, `{"a":{"b":["x",{"c":"***!"}],"d":"ok"}}`},
		{"several strings", `["ass","fine","fuck"]`, `["***","fine","****"]`},
		{"keys are not filtered", `{"ass":"fine","fuck":{"ass":1}}`, `{"ass":"fine","fuck":{"ass":1}}`},
		{"key and value alike", `{"ass":"ass"}`, `{"ass":"***"}`},
		{"white space kept byte for byte", "{ \"a\" :\n [ \"ass\" , 1 ,true, null ] }", "{ \"a\" :\n [ \"***\" , 1 ,true, null ] }"},
		{"numbers and literals untouched", `[1e3,-0.5,true,false,null]`, `[1e3,-0.5,true,false,null]`},
		{"escaped letter is one character", `"\u0041ss"`, `"***"`},
		{"escaped fullwidth letters", `"\uff21\uff33\uff33"`, `"***"`},
		{"surrogate pairs are one character each", `"\ud835\udc1a\ud835\udc2c\ud835\udc2c"`, `"***"`},
		{"escaped quotes around stay", `"\"ass\""`, `"\"***\""`},
		{"escaped line break inside a phrase", `"bad\nword"`, `"********"`},
		{"escaped zero-width space inside", `"a\u200bss"`, `"****"`},
		{"escaped slash is not a letter", `"\/ass\/"`, `"\/***\/"`},
		{"lone surrogate is a non-letter", `"\ud800ass"`, `"\ud800***"`},
		{"Hangul", `{"t":"너 바보!"}`, `{"t":"너 **!"}`},
		{"a JSON string inside a string", `{"t":"{\"x\":\"ass\"}"}`, `{"t":"{\"x\":\"***\"}"}`},
		{"inside a longer word", `{"t":"class"}`, `{"t":"class"}`},
		{"no strings", `{}`, `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed, err := f.MaskJSON(json.RawMessage(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("MaskJSON(%s) = %s, want %s", tt.in, got, tt.want)
			}
			wantMatch := tt.want != tt.in || tt.name == "key and value alike"
			if changed != wantMatch {
				t.Errorf("changed = %v, want %v", changed, wantMatch)
			}
			if m, err := f.MatchJSON(json.RawMessage(tt.in)); err != nil || m != wantMatch {
				t.Errorf("MatchJSON = %v, %v; want %v", m, err, wantMatch)
			}
			if !json.Valid(got) {
				t.Errorf("output is not JSON: %s", got)
			}
		})
	}
}

func TestInvalidJSONIsAnError(t *testing.T) {
	f := newTestFilter(t, Mask)
	for _, in := range []string{``, `{`, `"ass`, `{"a":"ass"} x`, `'ass'`} {
		if _, _, err := f.MaskJSON(json.RawMessage(in)); !errors.Is(err, ErrInvalidJSON) {
			t.Errorf("MaskJSON(%q): err = %v", in, err)
		}
		if _, err := f.MatchJSON(json.RawMessage(in)); !errors.Is(err, ErrInvalidJSON) {
			t.Errorf("MatchJSON(%q): err = %v", in, err)
		}
	}
}

func TestApplyFields(t *testing.T) {
	fields := map[string]json.RawMessage{
		"text":  json.RawMessage(`"you ass"`),
		"color": json.RawMessage(`"#ffd"`),
		"meta":  json.RawMessage(`{"tags":["Fuck"]}`),
	}
	before := maps.Clone(fields)

	_, err := newTestFilter(t, Reject).ApplyFields(fields)
	if !errors.Is(err, ErrFiltered) || !strings.Contains(err.Error(), `field "meta"`) {
		t.Fatalf("reject: err = %v; want ErrFiltered naming field \"meta\" (the first in name order)", err)
	}

	got, err := newTestFilter(t, Mask).ApplyFields(fields)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]json.RawMessage{
		"text":  json.RawMessage(`"you ***"`),
		"color": json.RawMessage(`"#ffd"`),
		"meta":  json.RawMessage(`{"tags":["****"]}`),
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("mask: %s", mustJSON(t, got))
	}
	if !reflect.DeepEqual(fields, before) {
		t.Fatalf("the input map was modified: %s", mustJSON(t, fields))
	}

	clean := map[string]json.RawMessage{"text": json.RawMessage(`"hello"`)}
	got, err = newTestFilter(t, Mask).ApplyFields(clean)
	if err != nil || reflect.ValueOf(got).Pointer() != reflect.ValueOf(clean).Pointer() {
		t.Fatalf("clean fields: %v, a copy was made or an error returned", err)
	}
	if _, err := newTestFilter(t, Reject).ApplyFields(clean); err != nil {
		t.Fatalf("reject, clean fields: %v", err)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestConcurrentUse: one Filter serves every session at once (run with
// -race); the pooled working memory must not leak between calls.
func TestConcurrentUse(t *testing.T) {
	f := newTestFilter(t, Mask)
	in := []string{`{"a":"you ass"}`, `"ＡＳＳ and bad word"`, `["clean", "text"]`, `"바보 傻瓜"`}
	want := []string{`{"a":"you ***"}`, `"*** and ********"`, `["clean", "text"]`, `"** **"`}
	done := make(chan error, 8)
	for g := range 8 {
		go func() {
			for i := range 200 {
				k := (g + i) % len(in)
				got, _, err := f.MaskJSON(json.RawMessage(in[k]))
				if err == nil && string(got) != want[k] {
					err = errors.New(string(got) + " != " + want[k])
				}
				if err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}
