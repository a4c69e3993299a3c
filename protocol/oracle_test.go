package protocol

// The decoder DecodeClient replaced, kept verbatim (renamed) as the oracle
// the new one is held to: for every input, the same frame or the same error
// (text, kind and ref). TestDecodeClientMatchesTheOldDecoder runs both over
// the decode table and the fuzz seeds; FuzzDecodeClientOracle over anything.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/papercast/papercast/domain"
)

// oldDecodeClient decodes one client text frame strictly: UTF-8, exactly one
// JSON object, case-sensitive keys and type names, values of the right types.
// Unknown keys are ignored so clients may add their own.
func oldDecodeClient(data []byte) (ClientFrame, error) {
	var f ClientFrame
	top, err := DecodeObject(data, "frame")
	if err != nil {
		return f, &DecodeError{Err: err}
	}
	if raw, ok := top["ref"]; ok {
		if err := oldUnquote(raw, &f.Ref); err != nil {
			return ClientFrame{}, invalid("", "ref must be a string")
		}
		if len(f.Ref) > MaxRefLen {
			f.Ref = ""
			return f, invalid("", "ref must be at most %d characters", MaxRefLen)
		}
	}
	raw, ok := top["type"]
	if !ok {
		return f, invalid(f.Ref, "missing type")
	}
	if err := oldUnquote(raw, &f.Type); err != nil {
		return f, invalid(f.Ref, "type must be a string")
	}
	switch f.Type {
	case TypeUpsert, TypeDelete:
		raw, ok := top["id"]
		if !ok {
			return f, invalid(f.Ref, "missing id")
		}
		if err := oldUnquote(raw, &f.ID); err != nil {
			return f, invalid(f.Ref, "id must be a string")
		}
		if f.Type == TypeDelete {
			return f, nil
		}
		raw, ok = top["fields"]
		if !ok || len(raw) == 0 || raw[0] != '{' {
			return f, invalid(f.Ref, "fields must be a non-empty object")
		}
		if err := json.Unmarshal(raw, &f.Fields); err != nil {
			return f, invalid(f.Ref, "fields must be a non-empty object")
		}
		if len(f.Fields) == 0 {
			return f, invalid(f.Ref, "fields must be a non-empty object")
		}
		for k, v := range f.Fields {
			f.Fields[k] = oldCompact(v)
		}
		return f, nil
	case TypePresence:
		raw, ok := top["state"]
		if !ok || len(raw) == 0 || raw[0] != '{' {
			return f, invalid(f.Ref, "state must be an object")
		}
		f.State = oldCompact(raw)
		return f, nil
	case TypeClaim:
		return f, oldRequiredString(top, "ownerKey", f.Ref, &f.OwnerKey)
	case TypeBan:
		return f, oldRequiredString(top, "user", f.Ref, &f.User)
	default:
		return f, &DecodeError{Ref: f.Ref, Err: fmt.Errorf("%w: unknown type %q", domain.ErrUnsupported, f.Type)}
	}
}

// requiredString reads member key, which must be a string.
func oldRequiredString(top map[string]json.RawMessage, key, ref string, dst *string) error {
	raw, ok := top[key]
	if !ok {
		return invalid(ref, "missing %s", key)
	}
	if len(raw) == 0 || raw[0] != '"' || oldUnquote(raw, dst) != nil {
		return invalid(ref, "%s must be a string", key)
	}
	return nil
}

// unquote decodes a JSON string value. Plain strings (no escapes) are cut
// out directly; anything else goes through encoding/json.
func oldUnquote(raw json.RawMessage, dst *string) error {
	if n := len(raw); n >= 2 && raw[0] == '"' && raw[n-1] == '"' && bytes.IndexByte(raw[1:n-1], '\\') < 0 && bytes.IndexByte(raw[1:n-1], '"') < 0 {
		*dst = string(raw[1 : n-1])
		return nil
	}
	return json.Unmarshal(raw, dst)
}

// compact drops insignificant whitespace so stored values are canonical and
// their size does not depend on a client's formatting.
func oldCompact(v json.RawMessage) json.RawMessage {
	if bytes.IndexAny(v, " \t\r\n") < 0 {
		return v
	}
	var b bytes.Buffer
	if err := json.Compact(&b, v); err != nil {
		return v
	}
	return b.Bytes()
}

// oracleCases are inputs where a scanner could part from encoding/json:
// repeated keys, escaped keys and values, null where a string is due,
// whitespace inside and around values, and every kind of malformed input.
var oracleCases = []string{
	`{"type":"delete","id":"n1","id":"n2"}`,
	`{"type":"upsert","id":"n1","fields":{"a":1,"a":2}}`,
	`{"type":"upsert","id":"n1","fields":{"a":1},"fields":{"b":2}}`,
	`{"type":"upsert","id":"n1","fields":{"a":1},"fields":{}}`,
	`{"\u0074ype":"delete","\u0069d":"n1","r\u0065f":"x"}`,
	`{"type":"upsert","id":"n1","fields":{"t\u0065xt":"a","\ud83c":1,"x\"y":2}}`,
	`{"type":"delete","ref":null,"id":null}`,
	`{"type":null,"ref":"r"}`,
	`{"type":"claim","ownerKey":null}`, `{"type":"ban","user":"\ud800"}`, `{"type":"ban","user":true}`,
	`{"type":"upsert","ref":"r","id":"n1","fields":{ "o" : { "a" : [ 1 , "x y" , {} ] } , "s":"  "}}`,
	`{"type":"presence","state": { "a" : [1, 2] } }`, `{"type":"presence","state":[]}`, `{"type":"presence"}`,
	`{"type":"presence","state":{},"state":null}`,
	`{"type":"upsert","id":"n1","fields":{"a":1}} `, "\t\n{\"type\":\"delete\",\"id\":\"n1\"}\r\n",
	`{"type":"upsert","id":"n1","fields":{"a":1,}}`, `{"type":"upsert","id":"n1","fields":{"a":01}}`,
	`{"type":"upsert","id":"n1","fields":{"a":"\x"}}`, "{\"type\":\"delete\",\"id\":\"n\x01\"}",
	`{"type":"delete","id":"n1"`, `{"type":"delete","id":"n1"}}`, `{"type":"delete" "id":"n1"}`, `{"type":"delete",}`,
	`{"type":"delete","ref":"` + strings.Repeat("é", 33) + `"}`, `{"ref":"` + strings.Repeat("r", 64) + `","type":"delete","id":"a"}`,
	`{"ref":"\u00e9` + strings.Repeat("r", 62) + `","type":"x"}`, `{"ref":5,"type":5}`, `{"type":"UPSERT"}`,
	`{"type":"upsert","id":"n1","fields":"x"}`, `{"type":"upsert","id":5,"fields":{"a":1}}`, `{"type":"upsert","fields":{"a":1}}`,
	`{}`, ` `, `null`, `"x"`, `{"a":[` + strings.Repeat("[", 10001) + `]}`, "{\"type\":\"\xc3\"}", `{"type":"ban","user":"\u00"}`,
}

// TestDecodeClientMatchesTheOldDecoder holds DecodeClient to the decoder
// it replaced over the decode table's kinds of input and the fuzz seeds.
func TestDecodeClientMatchesTheOldDecoder(t *testing.T) {
	for _, in := range append(append([]string{}, oracleCases...), decodeSeeds...) {
		compareWithOldDecoder(t, []byte(in))
	}
}

// FuzzDecodeClientOracle: for any input, DecodeClient and the old decoder
// return the same frame or the same error.
func FuzzDecodeClientOracle(f *testing.F) {
	for _, s := range append(append([]string{}, oracleCases...), decodeSeeds...) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { compareWithOldDecoder(t, data) })
}

func compareWithOldDecoder(t *testing.T, data []byte) {
	t.Helper()
	got, gotErr := DecodeClient(data)
	want, wantErr := oldDecodeClient(data)
	if (gotErr == nil) != (wantErr == nil) {
		t.Fatalf("%q: error %v, the old decoder's %v", data, gotErr, wantErr)
	}
	if wantErr != nil {
		var g, w *DecodeError
		if !errors.As(gotErr, &g) || !errors.As(wantErr, &w) {
			t.Fatalf("%q: not DecodeErrors: %v, %v", data, gotErr, wantErr)
		}
		if g.Error() != w.Error() || g.Ref != w.Ref ||
			errors.Is(g, domain.ErrInvalid) != errors.Is(w, domain.ErrInvalid) || errors.Is(g, domain.ErrUnsupported) != errors.Is(w, domain.ErrUnsupported) {
			t.Fatalf("%q: error %q ref %q, the old decoder's %q ref %q", data, g, g.Ref, w, w.Ref)
		}
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q:\n got %#v\nwant %#v", data, got, want)
	}
}

// TestDecodingAnUpsertAllocatesFourTimes pins what the scanner bought: the
// fields map (one allocation for up to 8 fields), the strings block and the
// values block, where encoding/json took ~39.
func TestDecodingAnUpsertAllocatesFourTimes(t *testing.T) {
	frame := []byte(`{"type":"upsert","ref":"a1","id":"n1","fields":{"text":"Happy birthday! Have a wonderful day","x":10,"y":20,"color":"#ffd"}}`)
	if n := testing.AllocsPerRun(100, func() { _, _ = DecodeClient(frame) }); n > 4 {
		t.Fatalf("decoding an upsert allocates %v times, want at most 4", n)
	}
}
