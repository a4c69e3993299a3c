// Package paper holds the rules of a rolling paper, pure and IO-free:
// which ids and fields are valid, the limits, and how an op merges into an
// element. Every store applies exactly these rules (the Redis Lua script
// mirrors Merge and ElementSize; the contract tests keep them equal).
package paper

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/protocol/jsonscan"
)

// Limits bound what one paper may hold. Every limit is configurable: the
// config key of each is limits.<name in its comment>.
type Limits struct {
	MaxFields        int // max_fields: fields per element
	MaxValueBytes    int // max_value_bytes: JSON bytes of one field value
	MaxElementBytes  int // max_element_bytes: ElementSize of one element
	MaxElements      int // max_elements: elements per paper
	MaxPresenceBytes int // max_presence_bytes: JSON bytes of one presence state
	MaxTitleChars    int // max_title_chars: characters of the title
	MaxToChars       int // max_to_chars: characters of the recipient ("to")
}

// DefaultLimits are the limits of protocol v1 (config.yaml gives the reason
// for each).
func DefaultLimits() Limits {
	return Limits{
		MaxFields:        32,
		MaxValueBytes:    4 << 10,
		MaxElementBytes:  16 << 10,
		MaxElements:      5000,
		MaxPresenceBytes: 2 << 10,
		MaxTitleChars:    200,
		MaxToChars:       200,
	}
}

// MaxIDLen is the longest element id or field name.
const MaxIDLen = 64

// LimitError is one limit that cannot work.
type LimitError struct {
	// Limit is the limit's name, as in its config key limits.<Limit>.
	Limit string
	// Problem says what would be right.
	Problem string
}

func (e *LimitError) Error() string { return e.Limit + " " + e.Problem }

// Validate reports every limit that cannot work, each as a *LimitError
// (joined with errors.Join).
func (l Limits) Validate() error {
	var errs []error
	atLeast := func(name string, v, least int) bool {
		if v < least {
			errs = append(errs, &LimitError{name, fmt.Sprintf("must be at least %d, got %d", least, v)})
			return false
		}
		return true
	}
	atLeast("max_fields", l.MaxFields, 1)
	values := atLeast("max_value_bytes", l.MaxValueBytes, 4) // "true", "null"
	if atLeast("max_element_bytes", l.MaxElementBytes, 4) && values && l.MaxElementBytes < l.MaxValueBytes {
		errs = append(errs, &LimitError{"max_element_bytes", fmt.Sprintf("must be at least max_value_bytes (%d), got %d", l.MaxValueBytes, l.MaxElementBytes)})
	}
	atLeast("max_elements", l.MaxElements, 1)
	atLeast("max_presence_bytes", l.MaxPresenceBytes, 2) // "{}"
	atLeast("max_title_chars", l.MaxTitleChars, 1)
	atLeast("max_to_chars", l.MaxToChars, 1)
	return errors.Join(errs...)
}

// ReservedFields are the names an element's own members take in every
// element object (`{"id":..,"by":..,"createdAt":..,...fields}`): the server
// sets them, so no upsert may name them.
var ReservedFields = []string{"id", "by", "createdAt"}

// ValidID reports whether s is a valid element id or field name:
// 1-64 characters of [A-Za-z0-9_-].
func ValidID(s string) bool {
	if len(s) == 0 || len(s) > MaxIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// IsNull reports whether a raw field value is JSON null (a removal).
func IsNull(v json.RawMessage) bool {
	return len(v) == 4 && string(v) == "null"
}

// ValidateOp checks an op on its own (without the element it applies to).
// It returns an error wrapping domain.ErrInvalid or domain.ErrTooLarge.
func (l Limits) ValidateOp(op domain.Op) error {
	if !ValidID(op.ID) {
		return fmt.Errorf("%w: element id must be 1-%d characters of [A-Za-z0-9_-]", domain.ErrInvalid, MaxIDLen)
	}
	switch op.Kind {
	case domain.OpDelete:
		if len(op.Fields) != 0 {
			return fmt.Errorf("%w: delete takes no fields", domain.ErrInvalid)
		}
		return nil
	case domain.OpUpsert:
	default:
		return fmt.Errorf("%w: unknown op %q", domain.ErrInvalid, op.Kind)
	}
	if len(op.Fields) == 0 {
		return fmt.Errorf("%w: fields must be a non-empty object", domain.ErrInvalid)
	}
	if len(op.Fields) > l.MaxFields {
		return fmt.Errorf("%w: at most %d fields per element", domain.ErrTooLarge, l.MaxFields)
	}
	for name, v := range op.Fields {
		if slices.Contains(ReservedFields, name) {
			return fmt.Errorf("%w: field name %q is reserved", domain.ErrInvalid, name)
		}
		if !ValidID(name) {
			return fmt.Errorf("%w: field names must be 1-%d characters of [A-Za-z0-9_-]", domain.ErrInvalid, MaxIDLen)
		}
		// jsonscan.Valid is json.Valid (FuzzValid holds them together)
		// without its scanner's per-byte calls: a third of an upsert's
		// decode and validation went here.
		if len(v) == 0 || !jsonscan.Valid(v) || !utf8.Valid(v) {
			return fmt.Errorf("%w: field %q is not a JSON value", domain.ErrInvalid, name)
		}
		if len(v) > l.MaxValueBytes {
			return fmt.Errorf("%w: field %q is over %d bytes", domain.ErrTooLarge, name, l.MaxValueBytes)
		}
	}
	return nil
}

// ValidatePresence checks a presence state: a JSON object within the limit.
func (l Limits) ValidatePresence(state json.RawMessage) error {
	if len(state) > l.MaxPresenceBytes {
		return fmt.Errorf("%w: presence state is over %d bytes", domain.ErrTooLarge, l.MaxPresenceBytes)
	}
	if len(state) == 0 || state[0] != '{' || !jsonscan.Valid(state) || !utf8.Valid(state) {
		return fmt.Errorf("%w: presence state must be a JSON object", domain.ErrInvalid)
	}
	return nil
}

// ValidateTitle checks a new paper's title and recipient.
func (l Limits) ValidateTitle(title, to string) error {
	n := utf8.RuneCountInString(title)
	if !utf8.ValidString(title) || n < 1 || n > l.MaxTitleChars {
		return fmt.Errorf("%w: title must be 1-%d characters", domain.ErrInvalid, l.MaxTitleChars)
	}
	if !utf8.ValidString(to) || utf8.RuneCountInString(to) > l.MaxToChars {
		return fmt.Errorf("%w: to must be at most %d characters", domain.ErrInvalid, l.MaxToChars)
	}
	return nil
}

// ValidateEdit checks an edit policy: domain.EditAuthors or domain.EditOpen.
func ValidateEdit(edit string) error {
	if edit != domain.EditAuthors && edit != domain.EditOpen {
		return fmt.Errorf("%w: edit must be %q or %q", domain.ErrInvalid, domain.EditAuthors, domain.EditOpen)
	}
	return nil
}

// MaxUserBytes bounds a user id, as sessions give it (see delivery/ws).
const MaxUserBytes = 128

// ValidateUser checks a user id named by someone else (a ban): 1 to
// MaxUserBytes bytes of UTF-8.
func ValidateUser(user string) error {
	if user == "" || len(user) > MaxUserBytes || !utf8.ValidString(user) {
		return fmt.Errorf("%w: user must be 1-%d bytes of UTF-8", domain.ErrInvalid, MaxUserBytes)
	}
	return nil
}
