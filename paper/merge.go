package paper

import (
	"encoding/json"
	"fmt"

	"github.com/papercast/papercast/domain"
)

// FieldSize is what one field counts toward an element's size: its name plus
// its JSON value. The Redis script computes the same.
func FieldSize(name string, v json.RawMessage) int { return len(name) + len(v) }

// ElementSize is the size of an element's fields as counted by the limits.
func ElementSize(fields map[string]json.RawMessage) int {
	n := 0
	for k, v := range fields {
		n += FieldSize(k, v)
	}
	return n
}

// CheckMerge reports whether merging upsert fields into an element (nil when
// the element is new) stays within the limits. elements is the paper's
// current element count. It does not modify anything.
func (l Limits) CheckMerge(existing map[string]json.RawMessage, fields map[string]json.RawMessage, elements int) error {
	if existing == nil && elements >= l.MaxElements {
		return fmt.Errorf("%w: a paper holds at most %d elements", domain.ErrTooLarge, l.MaxElements)
	}
	count, size := len(existing), ElementSize(existing)
	for k, v := range fields {
		old, had := existing[k]
		if had {
			count--
			size -= FieldSize(k, old)
		}
		if !IsNull(v) {
			count++
			size += FieldSize(k, v)
		}
	}
	if count > l.MaxFields {
		return fmt.Errorf("%w: at most %d fields per element", domain.ErrTooLarge, l.MaxFields)
	}
	if size > l.MaxElementBytes {
		return fmt.Errorf("%w: an element is at most %d bytes", domain.ErrTooLarge, l.MaxElementBytes)
	}
	return nil
}

// Merge applies upsert fields to an element's fields in place: a null value
// removes the field, any other value replaces it. existing may be nil.
func Merge(existing map[string]json.RawMessage, fields map[string]json.RawMessage) map[string]json.RawMessage {
	if existing == nil {
		existing = make(map[string]json.RawMessage, len(fields))
	}
	for k, v := range fields {
		if IsNull(v) {
			delete(existing, k)
			continue
		}
		existing[k] = append(json.RawMessage(nil), v...)
	}
	return existing
}
