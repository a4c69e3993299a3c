package archive

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/papercast/papercast/domain"
)

// DecodeElements reads the JSON array protocol.AppendElements writes back
// into elements: `[{"id":..,"by":{"user":..,"name":..},"createdAt":..,...fields}]`.
// Field values come back as the exact bytes that were written (json.RawMessage
// keeps a value's bytes as they stand), in the array's order. Every element
// gets a non-nil Fields map.
//
// It reads bytes from a database, which another program or a restored backup
// may have written, so it checks everything and never panics
// (FuzzDecodeElements).
func DecodeElements(data []byte) ([]domain.Element, error) {
	var raw []map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("elements: %w", err)
	}
	if raw == nil {
		return nil, errors.New("elements: not an array")
	}
	els := make([]domain.Element, len(raw))
	for i, obj := range raw {
		el, err := decodeElement(obj)
		if err != nil {
			return nil, fmt.Errorf("element %d: %w", i, err)
		}
		els[i] = el
	}
	return els, nil
}

func decodeElement(obj map[string]json.RawMessage) (domain.Element, error) {
	if obj == nil {
		return domain.Element{}, errors.New("not an object")
	}
	var el domain.Element
	idRaw, ok := obj["id"]
	if !ok {
		return el, errors.New("no id")
	}
	if err := json.Unmarshal(idRaw, &el.ID); err != nil {
		return el, fmt.Errorf("id: %w", err)
	}
	if byRaw, ok := obj["by"]; ok {
		var by struct {
			User *string `json:"user"`
			Name string  `json:"name"`
		}
		if err := json.Unmarshal(byRaw, &by); err != nil {
			return el, fmt.Errorf("by: %w", err)
		}
		if by.User == nil || *by.User == "" {
			// AppendElements writes "by" only for an element with a user.
			return el, errors.New("by: no user")
		}
		el.By = domain.ElementAuthor{User: *by.User, Name: by.Name}
	}
	if atRaw, ok := obj["createdAt"]; ok {
		var s string
		if err := json.Unmarshal(atRaw, &s); err != nil {
			return el, fmt.Errorf("createdAt: %w", err)
		}
		at, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return el, fmt.Errorf("createdAt: %w", err)
		}
		if at.Nanosecond() != 0 {
			return el, errors.New("createdAt: finer than a second")
		}
		el.CreatedAt = at.UTC()
	}
	el.Fields = make(map[string]json.RawMessage, len(obj))
	for k, v := range obj {
		switch k {
		case "id", "by", "createdAt":
			continue
		}
		el.Fields[k] = v
	}
	return el, nil
}
