// Package protocol is the wire format of protocol v1 (docs/protocol.md):
// decoding the frames clients send and encoding the frames the server sends.
// It is pure and shared by the stores (which publish event frames as they
// will be delivered, so each event is encoded exactly once), the fan-out and
// the WebSocket delivery.
package protocol

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"
	"unsafe"

	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/protocol/jsonscan"
)

// Client frame types. An op frame's type is its op kind.
const (
	TypeUpsert   = domain.OpUpsert
	TypeDelete   = domain.OpDelete
	TypePresence = "presence"
	// TypeClaim makes the session an owner session: {"ownerKey": ".."}.
	TypeClaim = "claim"
	// TypeBan removes a user from the paper (owner sessions): {"user": ".."}.
	TypeBan = "ban"
)

// ClientTypes is every client frame type DecodeClient accepts. Adding one is
// a checklist (README, "Adding an op kind"); metrics derive their labels
// from this list.
func ClientTypes() []string {
	return []string{TypeUpsert, TypeDelete, TypePresence, TypeClaim, TypeBan}
}

// Labels of client frames that have no type of their own, for the
// deliveries' counts: a text frame that did not decode, and a binary frame.
const (
	FrameUndecodable = "frame"
	FrameBinary      = "binary"
)

// FrameKinds is every label a client frame is counted under: its type, or
// one of the two above.
func FrameKinds() []string { return append(ClientTypes(), FrameUndecodable, FrameBinary) }

// MaxRefLen is the longest client ref echoed back in acks and errors.
const MaxRefLen = 64

// ClientFrame is one decoded client frame. It is syntactically valid; the
// paper rules (paper.Limits) still have to accept its op or state.
type ClientFrame struct {
	Type     string
	Ref      string
	ID       string
	Fields   map[string]json.RawMessage
	State    json.RawMessage
	OwnerKey string // claim
	User     string // ban
}

// Op returns the frame as a domain op (upsert and delete frames).
func (f ClientFrame) Op() domain.Op {
	return domain.Op{Kind: f.Type, ID: f.ID, Fields: f.Fields}
}

// DecodeError is a frame the server cannot accept. Ref is whatever ref could
// be read from it, so the error frame can still be matched by the client.
type DecodeError struct {
	Ref string
	Err error // wraps domain.ErrInvalid or domain.ErrUnsupported
}

func (e *DecodeError) Error() string { return e.Err.Error() }
func (e *DecodeError) Unwrap() error { return e.Err }

func invalid(ref, format string, args ...any) error {
	return &DecodeError{Ref: ref, Err: fmt.Errorf("%w: "+format, append([]any{domain.ErrInvalid}, args...)...)}
}

// DecodeClient decodes one client text frame strictly: UTF-8, exactly one
// JSON object, case-sensitive keys and type names, values of the right types.
// Unknown keys are ignored so clients may add their own; of a repeated key
// the last wins, as in encoding/json.
//
// It scans the frame in place (protocol/jsonscan) rather than through
// encoding/json: a valid upsert costs four allocations (the fields map, one
// block for its strings and one for its values). What it accepts,
// what it returns and every error's text are those of the encoding/json
// decoder it replaced, which oracle_test.go keeps and compares it with.
func DecodeClient(data []byte) (ClientFrame, error) {
	var f ClientFrame
	if i := jsonscan.SkipSpace(data, 0); !utf8.Valid(data) || i == len(data) || data[i] != '{' || !jsonscan.Valid(data) {
		return f, &DecodeError{Err: malformed(data)}
	}
	var u jsonscan.Unquoter
	m := scanFrame(data, &u)
	typ, typeOK := typeName(m.typ, &u)
	a := m.arena(typ)
	if m.ref != nil {
		ref, ok := a.stringValue(m.ref)
		if !ok {
			return ClientFrame{}, invalid("", "ref must be a string")
		}
		if len(ref) > MaxRefLen {
			return ClientFrame{}, invalid("", "ref must be at most %d characters", MaxRefLen)
		}
		f.Ref = ref
	}
	if m.typ == nil {
		return f, invalid(f.Ref, "missing type")
	}
	if !typeOK {
		return f, invalid(f.Ref, "type must be a string")
	}
	f.Type = typ
	switch f.Type {
	case TypeUpsert, TypeDelete:
		if m.id == nil {
			return f, invalid(f.Ref, "missing id")
		}
		id, ok := a.stringValue(m.id)
		if !ok {
			return f, invalid(f.Ref, "id must be a string")
		}
		f.ID = id
		if f.Type == TypeDelete {
			return f, nil
		}
		if m.fields == nil || m.fields[0] != '{' {
			return f, invalid(f.Ref, "fields must be a non-empty object")
		}
		if m.nFields == 0 {
			return f, invalid(f.Ref, "fields must be a non-empty object")
		}
		f.Fields = make(map[string]json.RawMessage, m.nFields)
		it := jsonscan.Object(m.fields)
		dups := false
		for k, v, ok := it.Next(); ok; k, v, ok = it.Next() {
			// A repeated name takes the new value but keeps its first key
			// string (a map keeps the key it has), so it is looked up
			// without a copy and not added to the block.
			if name := u.Unquote(k); f.Fields[string(name)] != nil {
				f.Fields[string(name)] = a.compact(v)
				dups = true
				continue
			}
			f.Fields[a.unquote(k)] = a.compact(v)
		}
		if dups {
			refit(&f)
		}
		return f, nil
	case TypePresence:
		if m.state == nil || m.state[0] != '{' {
			return f, invalid(f.Ref, "state must be an object")
		}
		f.State = a.compact(m.state)
		return f, nil
	case TypeClaim:
		return f, requiredString(&a, m.ownerKey, "ownerKey", f.Ref, &f.OwnerKey)
	case TypeBan:
		return f, requiredString(&a, m.user, "user", f.Ref, &f.User)
	default:
		return f, &DecodeError{Ref: f.Ref, Err: fmt.Errorf("%w: unknown type %q", domain.ErrUnsupported, f.Type)}
	}
}

// malformed is the error for a frame that is not one valid JSON object of
// UTF-8: DecodeObject's, so its text is encoding/json's as it always was.
// Only refused frames pay for it.
func malformed(data []byte) error {
	if _, err := DecodeObject(data, "frame"); err != nil {
		return err
	}
	// jsonscan.Valid refused what encoding/json accepts: FuzzValid exists
	// to keep this unreachable.
	return fmt.Errorf("%w: malformed JSON", domain.ErrInvalid)
}

// frameMembers are the raw values of the members DecodeClient reads, each
// its key's last occurrence; nil when absent.
type frameMembers struct {
	ref, typ, id, fields, state, ownerKey, user []byte
	// The members of fields, when it is an object: how many (repeats
	// counted) and the bytes of their raw names and of their raw values.
	nFields, nameBytes, valueBytes int
}

func scanFrame(data []byte, u *jsonscan.Unquoter) frameMembers {
	var m frameMembers
	it := jsonscan.Object(data)
	for k, v, ok := it.Next(); ok; k, v, ok = it.Next() {
		switch string(u.Unquote(k)) {
		case "ref":
			m.ref = v
		case "type":
			m.typ = v
		case "id":
			m.id = v
		case "fields":
			m.fields = v
		case "state":
			m.state = v
		case "ownerKey":
			m.ownerKey = v
		case "user":
			m.user = v
		}
	}
	if len(m.fields) != 0 && m.fields[0] == '{' {
		fields := jsonscan.Object(m.fields)
		for k, v, ok := fields.Next(); ok; k, v, ok = fields.Next() {
			m.nFields++
			m.nameBytes += len(k)
			m.valueBytes += len(v)
		}
	}
	return m
}

// arena makes the blocks a frame of type typ decodes into, each as large
// as the raw bytes it will hold (decoding never lengthens a string, and
// compacting never lengthens a value).
func (m frameMembers) arena(typ string) arena {
	strs, vals := len(m.ref), 0
	switch typ {
	case TypeUpsert:
		strs += len(m.id) + m.nameBytes
		vals = m.valueBytes
	case TypeDelete:
		strs += len(m.id)
	case TypePresence:
		vals = len(m.state)
	case TypeClaim:
		strs += len(m.ownerKey)
	case TypeBan:
		strs += len(m.user)
	}
	return arena{b: make([]byte, 0, strs), vals: make([]byte, 0, vals)}
}

// typeName decodes the type member as a string (null reads as "", as
// encoding/json leaves a string alone for null). Known types come back as
// the constants: no allocation for them.
func typeName(raw []byte, u *jsonscan.Unquoter) (string, bool) {
	switch {
	case raw == nil || raw[0] == 'n':
		return "", true
	case raw[0] != '"':
		return "", false
	}
	switch s := u.Unquote(raw); string(s) {
	case TypeUpsert:
		return TypeUpsert, true
	case TypeDelete:
		return TypeDelete, true
	case TypePresence:
		return TypePresence, true
	case TypeClaim:
		return TypeClaim, true
	case TypeBan:
		return TypeBan, true
	default:
		return string(s), true
	}
}

// requiredString reads member key (raw, nil when absent), which must be a
// string.
func requiredString(a *arena, raw []byte, key, ref string, dst *string) error {
	if raw == nil {
		return invalid(ref, "missing %s", key)
	}
	if raw[0] != '"' {
		return invalid(ref, "%s must be a string", key)
	}
	*dst = a.unquote(raw)
	return nil
}

// arena holds the strings of one decoded frame in one block and its values
// in another. The strings are views of bytes that are never written again
// (appends go past them, or to a new block), which is how strings.Builder
// hands out its buffer; the values are capped slices, so appending to one
// copies it.
//
// The two are apart because they live apart: an element id and field names
// stay as long as the element (a map keeps its key strings; the memory store
// keys by them), so their block holds nothing else, while values are copied
// when they are merged (paper.Merge) and their block goes with the frame.
type arena struct{ b, vals []byte }

// unquote returns the contents of the string token tok as a string.
func (a *arena) unquote(tok []byte) string {
	start := len(a.b)
	if jsonscan.Plain(tok) {
		a.b = append(a.b, tok[1:len(tok)-1]...)
	} else {
		a.b = jsonscan.AppendUnquote(a.b, tok)
	}
	if len(a.b) == start {
		return ""
	}
	return unsafe.String(&a.b[start], len(a.b)-start)
}

// stringValue decodes a member as json.Unmarshal decodes into a string: a
// string token, or null, which leaves it "". ok is false for other values.
func (a *arena) stringValue(raw []byte) (s string, ok bool) {
	switch raw[0] {
	case 'n':
		return "", true
	case '"':
		return a.unquote(raw), true
	}
	return "", false
}

// compact copies a value without insignificant whitespace, so stored values
// are canonical and their size does not depend on a client's formatting.
func (a *arena) compact(v []byte) json.RawMessage {
	start := len(a.vals)
	a.vals = jsonscan.AppendCompact(a.vals, v)
	return a.vals[start:len(a.vals):len(a.vals)]
}

// refit copies the strings of f into a block of their size: with field
// names repeated, the block was sized for every repeat, and the id and
// names kept would hold all of it for as long as the element lives. Only a
// frame that repeats a name pays for it.
func refit(f *ClientFrame) {
	n := len(f.Ref) + len(f.ID)
	for k := range f.Fields {
		n += len(k)
	}
	a := arena{b: make([]byte, 0, n)}
	f.Ref, f.ID = a.str(f.Ref), a.str(f.ID)
	fields := make(map[string]json.RawMessage, len(f.Fields))
	for k, v := range f.Fields {
		fields[a.str(k)] = v
	}
	f.Fields = fields
}

// str copies s into the block.
func (a *arena) str(s string) string {
	start := len(a.b)
	a.b = append(a.b, s...)
	if len(a.b) == start {
		return ""
	}
	return unsafe.String(&a.b[start], len(a.b)-start)
}

// DecodeObject is the strict preamble of every JSON object the server reads
// from outside (client frames, REST bodies): valid UTF-8, exactly one JSON
// object and nothing after it. It returns the object's members by exact key
// (encoding/json would match struct fields case-insensitively). what names
// the input in the error, which wraps domain.ErrInvalid.
func DecodeObject(data []byte, what string) (map[string]json.RawMessage, error) {
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("%w: %s is not valid UTF-8", domain.ErrInvalid, what)
	}
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, fmt.Errorf("%w: %s must be one JSON object", domain.ErrInvalid, what)
	}
	// Unmarshal (unlike a Decoder) rejects anything after the object.
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("%w: malformed JSON: %v", domain.ErrInvalid, err)
	}
	return top, nil
}
