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

	"github.com/papercast/papercast/domain"
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
// Unknown keys are ignored so clients may add their own.
func DecodeClient(data []byte) (ClientFrame, error) {
	var f ClientFrame
	top, err := DecodeObject(data, "frame")
	if err != nil {
		return f, &DecodeError{Err: err}
	}
	if raw, ok := top["ref"]; ok {
		if err := unquote(raw, &f.Ref); err != nil {
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
	if err := unquote(raw, &f.Type); err != nil {
		return f, invalid(f.Ref, "type must be a string")
	}
	switch f.Type {
	case TypeUpsert, TypeDelete:
		raw, ok := top["id"]
		if !ok {
			return f, invalid(f.Ref, "missing id")
		}
		if err := unquote(raw, &f.ID); err != nil {
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
			f.Fields[k] = compact(v)
		}
		return f, nil
	case TypePresence:
		raw, ok := top["state"]
		if !ok || len(raw) == 0 || raw[0] != '{' {
			return f, invalid(f.Ref, "state must be an object")
		}
		f.State = compact(raw)
		return f, nil
	case TypeClaim:
		return f, requiredString(top, "ownerKey", f.Ref, &f.OwnerKey)
	case TypeBan:
		return f, requiredString(top, "user", f.Ref, &f.User)
	default:
		return f, &DecodeError{Ref: f.Ref, Err: fmt.Errorf("%w: unknown type %q", domain.ErrUnsupported, f.Type)}
	}
}

// requiredString reads member key, which must be a string.
func requiredString(top map[string]json.RawMessage, key, ref string, dst *string) error {
	raw, ok := top[key]
	if !ok {
		return invalid(ref, "missing %s", key)
	}
	if len(raw) == 0 || raw[0] != '"' || unquote(raw, dst) != nil {
		return invalid(ref, "%s must be a string", key)
	}
	return nil
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

// unquote decodes a JSON string value. Plain strings (no escapes) are cut
// out directly; anything else goes through encoding/json.
func unquote(raw json.RawMessage, dst *string) error {
	if n := len(raw); n >= 2 && raw[0] == '"' && raw[n-1] == '"' && bytes.IndexByte(raw[1:n-1], '\\') < 0 && bytes.IndexByte(raw[1:n-1], '"') < 0 {
		*dst = string(raw[1 : n-1])
		return nil
	}
	return json.Unmarshal(raw, dst)
}

// compact drops insignificant whitespace so stored values are canonical and
// their size does not depend on a client's formatting.
func compact(v json.RawMessage) json.RawMessage {
	if bytes.IndexAny(v, " \t\r\n") < 0 {
		return v
	}
	var b bytes.Buffer
	if err := json.Compact(&b, v); err != nil {
		return v
	}
	return b.Bytes()
}
