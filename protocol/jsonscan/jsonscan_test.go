package jsonscan

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

var samples = []string{
	``, ` `, `{}`, ` {} `, `[]`, `[1,2]`, `{"a":1}`, `{"a":1,}`, `[1,]`, `{"a"}`, `{"a":}`, `{,}`, `{"a":1 "b":2}`,
	`"x"`, `"\u00e9\ud83c\udf89"`, `"\ud800"`, `"\ud800\u0041"`, `"\uZZZZ"`, `"\x"`, "\"\x01\"", "\"\xff\"", `"\/\b\f\n\r\t\"\\"`,
	`0`, `-0`, `01`, `-`, `1.`, `1.5`, `.5`, `1e`, `1e+`, `1E-7`, `-12.5e10`, `1e5.0`, `+1`, `NaN`,
	`true`, `false`, `null`, `nul`, `tru`, `truex`, `nullnull`, `1 2`, `{}x`, `{"a":[1,{"b":null}]} `,
	`{"type":"upsert","ref":"a1","id":"n1","fields":{"text":"Happy birthday!","x":10,"y":20,"color":"#ffd"}}`,
	`[[[[]]]]`, `[[[[]]]`, `{"a":{"b":{"c":[]}}}`, `{"a":{"b":{"c":[}}}`, "\t\r\n[ 1 , 2 ]\n", "[1\v]",
	strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth),
	strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1),
	strings.Repeat(`{"a":`, maxDepth) + "1" + strings.Repeat("}", maxDepth),
	strings.Repeat(`{"a":`, maxDepth+1) + "1" + strings.Repeat("}", maxDepth+1),
}

// TestValidAgreesWithEncodingJSON over hand-picked edges, the nesting
// limit among them.
func TestValidAgreesWithEncodingJSON(t *testing.T) {
	for _, s := range samples {
		if got, want := Valid([]byte(s)), json.Valid([]byte(s)); got != want {
			t.Errorf("Valid(%.40q) = %v, encoding/json says %v", s, got, want)
		}
	}
}

func TestValidAllocatesNothing(t *testing.T) {
	frame := []byte(samples[len(samples)-5])
	if n := testing.AllocsPerRun(100, func() { Valid(frame) }); n != 0 {
		t.Fatalf("Valid allocates %v times", n)
	}
}

// FuzzValid holds Valid to encoding/json.Valid, and on valid input the
// scanner to encoding/json: members, unquoted strings and compaction.
func FuzzValid(f *testing.F) {
	for _, s := range samples[:len(samples)-4] {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, want := Valid(data), json.Valid(data)
		if got != want {
			t.Fatalf("Valid(%q) = %v, encoding/json says %v", data, got, want)
		}
		if !got {
			return
		}
		checkScan(t, data)
	})
}

// checkScan compares the scanner with encoding/json on valid input.
func checkScan(t *testing.T, data []byte) {
	var b bytes.Buffer
	if err := json.Compact(&b, data); err != nil {
		t.Fatal(err)
	}
	if got := AppendCompact(nil, bytes.TrimSpace(data)); !bytes.Equal(got, b.Bytes()) {
		t.Fatalf("AppendCompact(%q) = %q, encoding/json %q", data, got, b.Bytes())
	}
	v := bytes.TrimLeft(data, " \t\r\n")
	if end := ValueEnd(v, 0); len(bytes.TrimSpace(v[end:])) != 0 {
		t.Fatalf("ValueEnd(%q) = %d", v, end)
	}
	switch v[0] {
	case '"':
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			t.Fatal(err)
		}
		tok := bytes.TrimSpace(v)
		var u Unquoter
		if got := u.Unquote(tok); string(got) != s {
			t.Fatalf("Unquote(%q) = %q, encoding/json %q", tok, got, s)
		}
	case '{':
		var want map[string]json.RawMessage
		if err := json.Unmarshal(data, &want); err != nil {
			t.Fatal(err)
		}
		got := map[string]json.RawMessage{}
		var u Unquoter
		m := Object(data)
		for k, val, ok := m.Next(); ok; k, val, ok = m.Next() {
			got[string(u.Unquote(k))] = val
		}
		if len(got) != len(want) {
			t.Fatalf("Members(%q): %d keys, encoding/json %d", data, len(got), len(want))
		}
		for k, w := range want {
			if !bytes.Equal(got[k], w) {
				t.Fatalf("Members(%q)[%q] = %q, encoding/json %q", data, k, got[k], w)
			}
		}
	}
}

func TestScannerAgreesWithEncodingJSON(t *testing.T) {
	for _, s := range samples {
		if Valid([]byte(s)) {
			checkScan(t, []byte(s))
		}
	}
	for _, s := range []string{
		`{"a" : 1 , "b":[ 1, "x y" ],"a":{"c" : null}}`, `{"\u0074ype":"x","t\"":"\ud83c"}`, `"a\u00e9\uD83C\uDF89b"`,
		`"\ud83c\u0041"`, `"\udf89"`, "\"caf\xc3\xa9 \xff\"", `{ }`, ` { "k" : "v" } `,
	} {
		if !Valid([]byte(s)) {
			t.Fatalf("not valid: %s", s)
		}
		checkScan(t, []byte(s))
	}
}

func TestUnquoteOfAPlainStringIsASubSlice(t *testing.T) {
	tok := []byte(`"plain"`)
	var u Unquoter
	got := u.Unquote(tok)
	if string(got) != "plain" || &got[0] != &tok[1] {
		t.Fatalf("Unquote = %q, not a sub-slice of the token", got)
	}
	if n := testing.AllocsPerRun(100, func() { u.Unquote([]byte(`"a\nb"`)) }); n != 0 {
		t.Fatalf("Unquote with a warm buffer allocates %v times", n)
	}
}
