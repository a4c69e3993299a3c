package protocol

// The server-frame encoders the Append* ones replaced, kept verbatim
// (renamed) as the oracle they are held to byte for byte: they marshal each
// string with encoding/json and sort field names in a fresh slice.

import (
	"encoding/json"
	"sort"
	"strconv"
	"testing"

	"github.com/papercast/papercast/domain"
)

func oldAppendString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string always marshals
	return append(b, q...)
}

// appendAuthor is the one encoder of who someone is:
// `"session":S,"user":U,"name":N`, without braces, so a presence entry or
// frame can go on with its own members. docs/protocol.md gives two rules for
// the name, and each caller states which it follows: an op's `by` omits an
// empty name; `you` and presence entries always carry it.
func oldAppendAuthor(b []byte, a domain.Author, keepEmptyName bool) []byte {
	b = append(b, `"session":`...)
	b = oldAppendString(b, a.Session)
	b = append(b, `,"user":`...)
	b = oldAppendString(b, a.User)
	if a.Name != "" || keepEmptyName {
		b = append(b, `,"name":`...)
		b = oldAppendString(b, a.Name)
	}
	return b
}

// appendPresence is the one encoder of a presence entry's members (the list
// entries of snapshot and resumed frames, and presence frames):
// `"session":..,"user":..,"name":..,"state":{..}`, without braces. The name
// is always present; an empty state, and any leave's, is `{}`.
func oldAppendPresence(b []byte, p domain.Presence, leave bool) []byte {
	b = oldAppendAuthor(b, domain.Author{Session: p.Session, User: p.User, Name: p.Name}, true)
	b = append(b, `,"state":`...)
	if len(p.State) == 0 || leave {
		return append(b, `{}`...)
	}
	return append(b, p.State...)
}

func oldSortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// appendFields writes `"k":v,"k2":v2` in name order (nothing for no fields):
// the members of an op's `fields` and of an element after its id.
func oldAppendFields(b []byte, fields map[string]json.RawMessage) []byte {
	for i, k := range oldSortedKeys(fields) {
		if i > 0 {
			b = append(b, ',')
		}
		b = oldAppendString(b, k)
		b = append(b, ':')
		b = append(b, fields[k]...)
	}
	return b
}

// OpBody is the part of an op frame after its seq:
// `"op":"upsert","id":"n1","fields":{...},"by":{...}}`. Stores put the seq in
// front of it (OpFrame) when they apply the op, inside their atomic step.
func oldOpBody(op domain.Op, by domain.Author) []byte {
	b := make([]byte, 0, 96+16*len(op.Fields))
	b = append(b, `"op":`...)
	b = oldAppendString(b, op.Kind)
	b = append(b, `,"id":`...)
	b = oldAppendString(b, op.ID)
	if op.Kind == domain.OpUpsert {
		b = append(b, `,"fields":{`...)
		b = oldAppendFields(b, op.Fields)
		b = append(b, '}')
	}
	b = append(b, `,"by":{`...)
	b = oldAppendAuthor(b, by, false)
	return append(b, "}}"...)
}

// OpFrame joins a seq and an OpBody into the op frame.
func oldOpFrame(seq uint64, body []byte) []byte {
	b := make([]byte, 0, len(OpFramePrefix)+21+len(body))
	b = append(b, OpFramePrefix...)
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, ',')
	return append(b, body...)
}

// FinalizedFrame is `{"type":"finalized","seq":N}`.
func oldFinalizedFrame(seq uint64) []byte {
	b := append([]byte(`{"type":"finalized","seq":`), strconv.AppendUint(nil, seq, 10)...)
	return append(b, '}')
}

// PolicyFrame is `{"type":"policy","seq":N,"edit":"open"}`: the paper's edit
// policy changed. Like finalized it takes the paper's next seq.
func oldPolicyFrame(seq uint64, edit string) []byte {
	b := make([]byte, 0, 48)
	b = append(b, `{"type":"policy","seq":`...)
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, `,"edit":`...)
	b = oldAppendString(b, edit)
	return append(b, '}')
}

// BanFrame is `{"type":"ban","user":"u7"}`, carried on the bus when the
// owner bans a user; rooms close that user's sessions (4003) rather than
// send this frame.
func oldBanFrame(user string) []byte {
	b := append([]byte(`{"type":"ban","user":`), oldAppendString(nil, user)...)
	return append(b, '}')
}

// PresenceFrame is a presence event. A leave carries no state.
func oldPresenceFrame(event string, p domain.Presence) []byte {
	b := make([]byte, 0, 96+len(p.State))
	b = append(b, `{"type":"presence","event":`...)
	b = oldAppendString(b, event)
	b = append(b, ',')
	b = oldAppendPresence(b, p, event == PresenceLeave)
	return append(b, '}')
}

// AckFrame is `{"type":"ack","ref":"a1","seq":42}`: an op is stored as
// seq. Seq 0 (never an op's) leaves seq out: the ack of a frame that takes
// no seq (claim, ban), `{"type":"ack","ref":"c1"}`.
func oldAckFrame(ref string, seq uint64) []byte {
	b := make([]byte, 0, 48+len(ref))
	b = append(b, `{"type":"ack"`...)
	if ref != "" {
		b = append(b, `,"ref":`...)
		b = oldAppendString(b, ref)
	}
	if seq != 0 {
		b = append(b, `,"seq":`...)
		b = strconv.AppendUint(b, seq, 10)
	}
	return append(b, '}')
}

// ErrorFrame is `{"type":"error","ref":"a1","code":"..","message":".."}`.
func oldErrorFrame(ref, code, message string) []byte {
	b := make([]byte, 0, 64+len(ref)+len(message))
	b = append(b, `{"type":"error"`...)
	if ref != "" {
		b = append(b, `,"ref":`...)
		b = oldAppendString(b, ref)
	}
	b = append(b, `,"code":`...)
	b = oldAppendString(b, code)
	b = append(b, `,"message":`...)
	b = oldAppendString(b, message)
	return append(b, '}')
}

// encodeSeeds are strings every escape rule of json.Marshal touches.
var encodeSeeds = []string{"", "plain", `a "q" \ b`, "<tag>&amp;", "\x00\x01\b\f\n\r\t\x1f\x7f", "é 🎉 \u2028\u2029", "\xff\xfe bad \xc3", "\u00e9\ud7ff\ue000"}

func TestAppendStringIsJSONMarshal(t *testing.T) {
	for _, s := range encodeSeeds {
		if got, want := string(appendString(nil, s)), string(oldAppendString(nil, s)); got != want {
			t.Errorf("appendString(%q) = %s, json.Marshal %s", s, got, want)
		}
	}
}

// TestEncodersMatchTheOldOnes compares every rewritten encoder with the
// old one over the seeds, one string at a time in every position.
func TestEncodersMatchTheOldOnes(t *testing.T) {
	for _, s := range encodeSeeds {
		compareEncoders(t, s, s, s, s, s, s, []byte(`{"c":[1,"x"]}`))
		compareEncoders(t, "upsert", "n1", s, "s1", "u1", "", []byte(`{}`))
		compareEncoders(t, "delete", s, "k", "s1", s, "Ana", nil)
	}
}

// FuzzEncodeOracle: for any strings, the encoders write what the old ones
// wrote.
func FuzzEncodeOracle(f *testing.F) {
	for _, s := range encodeSeeds {
		f.Add("upsert", "n1", s, "s1", "u1", s, []byte(`{"a":1}`))
	}
	f.Fuzz(func(t *testing.T, kind, id, key, session, user, name string, state []byte) {
		compareEncoders(t, kind, id, key, session, user, name, state)
	})
}

func compareEncoders(t *testing.T, kind, id, key, session, user, name string, state []byte) {
	t.Helper()
	op := domain.Op{Kind: kind, ID: id, Fields: map[string]json.RawMessage{key: json.RawMessage(`"v"`), key + "2": json.RawMessage("2"), "a": json.RawMessage("null")}}
	by := domain.Author{Session: session, User: user, Name: name}
	p := domain.Presence{Session: session, User: user, Name: name, State: state}
	pairs := []struct {
		what      string
		got, want []byte
	}{
		{"OpBody", OpBody(op, by), oldOpBody(op, by)},
		{"OpFrame", OpFrame(7, OpBody(op, by)), oldOpFrame(7, oldOpBody(op, by))},
		{"AppendOpFrame", AppendOpFrame([]byte("x"), 7, AppendOpBody(nil, op, by)), append([]byte("x"), oldOpFrame(7, oldOpBody(op, by))...)},
		{"FinalizedFrame", FinalizedFrame(9), oldFinalizedFrame(9)},
		{"PolicyFrame", PolicyFrame(9, name), oldPolicyFrame(9, name)},
		{"BanFrame", BanFrame(user), oldBanFrame(user)},
		{"PresenceFrame", PresenceFrame(kind, p), oldPresenceFrame(kind, p)},
		{"PresenceFrame leave", PresenceFrame(PresenceLeave, p), oldPresenceFrame(PresenceLeave, p)},
		{"AckFrame", AckFrame(id, 3), oldAckFrame(id, 3)},
		{"AckFrame no seq", AckFrame(id, 0), oldAckFrame(id, 0)},
		{"ErrorFrame", ErrorFrame(id, key, name), oldErrorFrame(id, key, name)},
	}
	for _, pr := range pairs {
		if string(pr.got) != string(pr.want) {
			t.Fatalf("%s:\n got %s\nwant %s", pr.what, pr.got, pr.want)
		}
	}
}
