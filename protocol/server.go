package protocol

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/papercast/papercast/domain"
)

// Presence event names.
const (
	PresenceJoin   = "join"
	PresenceUpdate = "update"
	PresenceLeave  = "leave"
)

// appendString writes s as a JSON string exactly as json.Marshal does
// (ported from encoding/json's appendString with escapeHTML): <, > and & as
// \u003c.., U+2028 and U+2029 escaped, each byte of invalid UTF-8 as
// \ufffd. Written out here so that encoding a frame allocates nothing;
// TestAppendStringIsJSONMarshal and FuzzEncodeOracle hold it to json.Marshal.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendAuthor is the one encoder of who someone is:
// `"session":S,"user":U,"name":N`, without braces, so a presence entry or
// frame can go on with its own members. docs/protocol.md gives two rules for
// the name, and each caller states which it follows: an op's `by` omits an
// empty name; `you` and presence entries always carry it.
func appendAuthor(b []byte, a domain.Author, keepEmptyName bool) []byte {
	b = append(b, `"session":`...)
	b = appendString(b, a.Session)
	b = append(b, `,"user":`...)
	b = appendString(b, a.User)
	if a.Name != "" || keepEmptyName {
		b = append(b, `,"name":`...)
		b = appendString(b, a.Name)
	}
	return b
}

// appendPresence is the one encoder of a presence entry's members (the list
// entries of snapshot and resumed frames, and presence frames):
// `"session":..,"user":..,"name":..,"state":{..}`, without braces. The name
// is always present; an empty state, and any leave's, is `{}`.
func appendPresence(b []byte, p domain.Presence, leave bool) []byte {
	b = appendAuthor(b, domain.Author{Session: p.Session, User: p.User, Name: p.Name}, true)
	b = append(b, `,"state":`...)
	if len(p.State) == 0 || leave {
		return append(b, `{}`...)
	}
	return append(b, p.State...)
}

// appendFields writes `"k":v,"k2":v2` in name order (nothing for no fields):
// the members of an op's `fields` and of an element after its id. The names
// are sorted in an array on the stack: an element has at most
// limits.max_fields of them (32 by default), so nothing is allocated.
func appendFields(b []byte, fields map[string]json.RawMessage) []byte {
	var buf [32]string
	keys := buf[:0]
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		b = append(b, fields[k]...)
	}
	return b
}

// OpBody is the part of an op frame after its seq:
// `"op":"upsert","id":"n1","fields":{...},"by":{...}}`. Stores put the seq in
// front of it (OpFrame) when they apply the op, inside their atomic step.
// It is AppendOpBody into a block of the right size: one allocation.
func OpBody(op domain.Op, by domain.Author) []byte {
	return AppendOpBody(make([]byte, 0, opBodySize(op, by)), op, by)
}

// opBodySize is the length of an op's body when no string needs escaping.
func opBodySize(op domain.Op, by domain.Author) int {
	n := len(`"op":"","id":"","fields":{},"by":{"session":"","user":"","name":""}}`) +
		len(op.Kind) + len(op.ID) + len(by.Session) + len(by.User) + len(by.Name)
	if op.Kind == domain.OpUpsert {
		for k, v := range op.Fields {
			n += len(k) + len(v) + len(`"":,`)
		}
	}
	return n
}

// AppendOpBody appends OpBody(op, by) to b.
func AppendOpBody(b []byte, op domain.Op, by domain.Author) []byte {
	b = append(b, `"op":`...)
	b = appendString(b, op.Kind)
	b = append(b, `,"id":`...)
	b = appendString(b, op.ID)
	if op.Kind == domain.OpUpsert {
		b = append(b, `,"fields":{`...)
		b = appendFields(b, op.Fields)
		b = append(b, '}')
	}
	b = append(b, `,"by":{`...)
	b = appendAuthor(b, by, false)
	return append(b, "}}"...)
}

// OpFramePrefix is what precedes the seq in an op frame.
const OpFramePrefix = `{"type":"op","seq":`

// OpFrame joins a seq and an OpBody into the op frame.
func OpFrame(seq uint64, body []byte) []byte {
	return AppendOpFrame(make([]byte, 0, len(OpFramePrefix)+21+len(body)), seq, body)
}

// AppendOpFrame appends OpFrame(seq, body) to b.
func AppendOpFrame(b []byte, seq uint64, body []byte) []byte {
	b = append(b, OpFramePrefix...)
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, ',')
	return append(b, body...)
}

// FinalizedFrame is `{"type":"finalized","seq":N}`.
func FinalizedFrame(seq uint64) []byte { return AppendFinalizedFrame(make([]byte, 0, 48), seq) }

// AppendFinalizedFrame appends FinalizedFrame(seq) to b.
func AppendFinalizedFrame(b []byte, seq uint64) []byte {
	b = append(b, `{"type":"finalized","seq":`...)
	b = strconv.AppendUint(b, seq, 10)
	return append(b, '}')
}

// PolicyFrame is `{"type":"policy","seq":N,"edit":"open"}`: the paper's edit
// policy changed. Like finalized it takes the paper's next seq.
func PolicyFrame(seq uint64, edit string) []byte {
	return AppendPolicyFrame(make([]byte, 0, 48+len(edit)), seq, edit)
}

// AppendPolicyFrame appends PolicyFrame(seq, edit) to b.
func AppendPolicyFrame(b []byte, seq uint64, edit string) []byte {
	b = append(b, `{"type":"policy","seq":`...)
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, `,"edit":`...)
	b = appendString(b, edit)
	return append(b, '}')
}

// BanFrame is `{"type":"ban","user":"u7"}`, carried on the bus when the
// owner bans a user; rooms close that user's sessions (4003) rather than
// send this frame.
func BanFrame(user string) []byte {
	b := append([]byte(`{"type":"ban","user":`), appendString(nil, user)...)
	return append(b, '}')
}

// BannedUser reads the user of a BanFrame.
func BannedUser(frame []byte) (string, bool) {
	var f struct {
		Type string `json:"type"`
		User string `json:"user"`
	}
	if json.Unmarshal(frame, &f) != nil || f.Type != domain.EventBan || f.User == "" {
		return "", false
	}
	return f.User, true
}

// EpochFrame is carried on the bus when a paper's epoch is renewed
// (usecase.Store.RenewEpoch); it never reaches a client.
func EpochFrame(epoch string) []byte {
	b := append([]byte(`{"type":"epoch","epoch":`), appendString(nil, epoch)...)
	return append(b, '}')
}

// EpochOf reads the epoch of an EpochFrame.
func EpochOf(frame []byte) (string, bool) {
	var f struct {
		Type  string `json:"type"`
		Epoch string `json:"epoch"`
	}
	if json.Unmarshal(frame, &f) != nil || f.Type != domain.EventEpoch || f.Epoch == "" {
		return "", false
	}
	return f.Epoch, true
}

// DeletedFrame is carried on the bus when a paper is deleted; sessions are
// closed (4004) rather than sent this frame.
func DeletedFrame() []byte { return []byte(`{"type":"deleted"}`) }

// PresenceFrame is a presence event. A leave carries no state.
func PresenceFrame(event string, p domain.Presence) []byte {
	return AppendPresenceFrame(make([]byte, 0, 96+len(event)+len(p.Session)+len(p.User)+len(p.Name)+len(p.State)), event, p)
}

// AppendPresenceFrame appends PresenceFrame(event, p) to b.
func AppendPresenceFrame(b []byte, event string, p domain.Presence) []byte {
	b = append(b, `{"type":"presence","event":`...)
	b = appendString(b, event)
	b = append(b, ',')
	b = appendPresence(b, p, event == PresenceLeave)
	return append(b, '}')
}

// AckFrame is `{"type":"ack","ref":"a1","seq":42}`: an op is stored as
// seq. Seq 0 (never an op's) leaves seq out: the ack of a frame that takes
// no seq (claim, ban), `{"type":"ack","ref":"c1"}`.
func AckFrame(ref string, seq uint64) []byte {
	return AppendAckFrame(make([]byte, 0, 48+len(ref)), ref, seq)
}

// AppendAckFrame appends AckFrame(ref, seq) to b.
func AppendAckFrame(b []byte, ref string, seq uint64) []byte {
	b = append(b, `{"type":"ack"`...)
	if ref != "" {
		b = append(b, `,"ref":`...)
		b = appendString(b, ref)
	}
	if seq != 0 {
		b = append(b, `,"seq":`...)
		b = strconv.AppendUint(b, seq, 10)
	}
	return append(b, '}')
}

// ErrorFrame is `{"type":"error","ref":"a1","code":"..","message":".."}`.
func ErrorFrame(ref, code, message string) []byte {
	return AppendErrorFrame(make([]byte, 0, 64+len(ref)+len(code)+len(message)), ref, code, message)
}

// AppendErrorFrame appends ErrorFrame(ref, code, message) to b.
func AppendErrorFrame(b []byte, ref, code, message string) []byte {
	b = append(b, `{"type":"error"`...)
	if ref != "" {
		b = append(b, `,"ref":`...)
		b = appendString(b, ref)
	}
	b = append(b, `,"code":`...)
	b = appendString(b, code)
	b = append(b, `,"message":`...)
	b = appendString(b, message)
	return append(b, '}')
}

// PaperJSON is a paper's metadata as it appears in frames and REST bodies.
type PaperJSON struct {
	ID          string  `json:"id"`
	Title       string  `json:"title"`
	To          string  `json:"to"`
	Status      string  `json:"status"`
	CreatedAt   string  `json:"createdAt"`
	FinalizedAt *string `json:"finalizedAt,omitempty"`
	Edit        string  `json:"edit"`
}

// Paper converts a domain paper for the wire.
func Paper(p domain.Paper) PaperJSON {
	out := PaperJSON{ID: p.ID, Title: p.Title, To: p.To, Status: p.Status, CreatedAt: p.CreatedAt.UTC().Format(time.RFC3339), Edit: p.Edit}
	if p.FinalizedAt != nil {
		s := p.FinalizedAt.UTC().Format(time.RFC3339)
		out.FinalizedAt = &s
	}
	return out
}

// appendElementAuthor writes `,"by":{"user":..,"name":..},"createdAt":".."`,
// the server-stamped members of an element. The name is omitted when empty;
// an element stored before authors were recorded has neither member.
func appendElementAuthor(b []byte, el domain.Element) []byte {
	if el.By.User != "" {
		b = append(b, `,"by":{"user":`...)
		b = appendString(b, el.By.User)
		if el.By.Name != "" {
			b = append(b, `,"name":`...)
			b = appendString(b, el.By.Name)
		}
		b = append(b, '}')
	}
	if !el.CreatedAt.IsZero() {
		b = append(b, `,"createdAt":"`...)
		b = el.CreatedAt.UTC().AppendFormat(b, time.RFC3339)
		b = append(b, '"')
	}
	return b
}

// AppendElements writes the elements as a JSON array of
// `{"id":..,"by":{..},"createdAt":..,...fields}` (see appendElementAuthor).
func AppendElements(b []byte, els []domain.Element) []byte {
	b = append(b, '[')
	for i, el := range els {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = appendString(b, el.ID)
		b = appendElementAuthor(b, el)
		if len(el.Fields) > 0 {
			b = append(b, ',')
			b = appendFields(b, el.Fields)
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

func appendPresenceList(b []byte, ps []domain.Presence) []byte {
	b = append(b, '[')
	for i, p := range ps {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '{')
		b = appendPresence(b, p, false)
		b = append(b, '}')
	}
	return append(b, ']')
}

func appendJSON(b []byte, v any) []byte {
	out, _ := json.Marshal(v) // plain structs of strings always marshal
	return append(b, out...)
}

// You is the joining session's own entry in its first frame: who it is,
// and in guest mode the token that proves it on later connections.
type You struct {
	domain.Author
	// Token is a credential for Author.User on this paper (guest mode);
	// empty: the member is omitted.
	Token string
}

// SnapshotFrame is the first frame of a fresh join.
func SnapshotFrame(doc domain.Document, you You, presence []domain.Presence) []byte {
	b := make([]byte, 0, 256)
	b = append(b, `{"type":"snapshot","epoch":`...)
	b = appendString(b, doc.Paper.Epoch)
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, doc.Paper.Seq, 10)
	b = append(b, `,"you":`...)
	b = appendYou(b, you)
	b = append(b, `,"paper":`...)
	b = appendJSON(b, Paper(doc.Paper))
	b = append(b, `,"elements":`...)
	b = AppendElements(b, doc.Elements)
	b = append(b, `,"presence":`...)
	b = appendPresenceList(b, presence)
	return append(b, '}')
}

// appendYou writes `{"session":..,"user":..,"name":..[,"token":..]}`: the
// name always, the token when there is one.
func appendYou(b []byte, you You) []byte {
	b = append(b, '{')
	b = appendAuthor(b, you.Author, true)
	if you.Token != "" {
		b = append(b, `,"token":`...)
		b = appendString(b, you.Token)
	}
	return append(b, '}')
}

// ResumedFrame is the first frame of a resume; the missed op frames follow.
func ResumedFrame(epoch string, from, seq uint64, you You, presence []domain.Presence) []byte {
	b := make([]byte, 0, 192)
	b = append(b, `{"type":"resumed","epoch":`...)
	b = appendString(b, epoch)
	b = append(b, `,"from":`...)
	b = strconv.AppendUint(b, from, 10)
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, `,"you":`...)
	b = appendYou(b, you)
	b = append(b, `,"presence":`...)
	b = appendPresenceList(b, presence)
	return append(b, '}')
}

// EventHeader reads the kind and seq of an event frame produced by this
// package (type first, then seq), without decoding the rest of it: the fan-out
// calls it once per event per replica.
func EventHeader(frame []byte) (kind string, seq uint64, ok bool) {
	const pre = `{"type":"`
	if len(frame) < len(pre) || string(frame[:len(pre)]) != pre {
		return "", 0, false
	}
	rest := frame[len(pre):]
	end := -1
	for i, c := range rest {
		if c == '"' {
			end = i
			break
		}
	}
	if end < 0 {
		return "", 0, false
	}
	// Known kinds come back as constants: no allocation per event.
	switch k := rest[:end]; string(k) {
	case domain.EventOp:
		kind = domain.EventOp
	case domain.EventPresence:
		kind = domain.EventPresence
	case domain.EventFinalized:
		kind = domain.EventFinalized
	case domain.EventDeleted:
		kind = domain.EventDeleted
	case domain.EventPolicy:
		kind = domain.EventPolicy
	case domain.EventBan:
		kind = domain.EventBan
	case domain.EventEpoch:
		kind = domain.EventEpoch
	default:
		kind = string(k)
	}
	rest = rest[end+1:]
	const seqKey = `,"seq":`
	if len(rest) < len(seqKey) || string(rest[:len(seqKey)]) != seqKey {
		return kind, 0, true
	}
	rest = rest[len(seqKey):]
	n := 0
	for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
		n++
	}
	if n == 0 {
		return "", 0, false
	}
	seq, err := strconv.ParseUint(string(rest[:n]), 10, 64)
	if err != nil {
		return "", 0, false
	}
	return kind, seq, true
}

// PresenceHeader reads the event and session of a presence frame produced by
// PresenceFrame, without decoding the rest.
func PresenceHeader(frame []byte) (event, session string, ok bool) {
	const pre = `{"type":"presence","event":"`
	if len(frame) < len(pre) || string(frame[:len(pre)]) != pre {
		return "", "", false
	}
	rest := frame[len(pre):]
	end := bytes.IndexByte(rest, '"')
	if end < 0 {
		return "", "", false
	}
	event = string(rest[:end])
	rest = rest[end+1:]
	const sk = `,"session":"`
	if len(rest) < len(sk) || string(rest[:len(sk)]) != sk {
		return "", "", false
	}
	rest = rest[len(sk):]
	// Session ids are [A-Za-z0-9_-]: no escapes to worry about.
	end = bytes.IndexByte(rest, '"')
	if end < 0 {
		return "", "", false
	}
	return event, string(rest[:end]), true
}
