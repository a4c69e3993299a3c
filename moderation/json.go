package moderation

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"unicode/utf16"
	"unicode/utf8"
)

// ErrInvalidJSON is returned for a value that is not valid JSON. Callers
// validate values first (paper.Limits.ValidateOp does), so it means a bug.
var ErrInvalidJSON = errors.New("moderation: invalid JSON")

// The JSON functions filter every string VALUE of a JSON value, at any
// depth (inside objects and arrays). Object keys are left alone: they are
// the frontend's schema (field names are [A-Za-z0-9_-] already), not text
// shown to people, and masking one would change the value's shape (two
// keys could become the same "***"). Numbers, literals, white space and
// every byte outside a match stay exactly as they were: values are stored
// byte for byte.

// MatchJSON reports whether any string value in v holds a blocked word.
func (f *Filter) MatchJSON(v json.RawMessage) (bool, error) {
	if !json.Valid(v) {
		return false, ErrInvalidJSON
	}
	if !f.Enabled() {
		return false, nil
	}
	sc := getScratch()
	defer putScratch(sc)
	found := false
	eachString(v, sc, func() bool {
		found = f.matches(sc)
		return !found
	})
	return found, nil
}

// MaskJSON returns v with every blocked word in its string values masked:
// each character of a match, whether written as UTF-8 or as a JSON escape
// (`\u00e9`, a surrogate pair, `\"`), becomes one `*`, so every string
// keeps its length in runes. It reports whether there was any match; when
// not, v itself is returned.
func (f *Filter) MaskJSON(v json.RawMessage) (json.RawMessage, bool, error) {
	if !json.Valid(v) {
		return nil, false, ErrInvalidJSON
	}
	if !f.Enabled() {
		return v, false, nil
	}
	sc := getScratch()
	defer putScratch(sc)
	var out []byte
	copied := 0 // v[:copied] is in out
	eachString(v, sc, func() bool {
		if !f.marks(sc) {
			return true
		}
		if out == nil {
			out = make([]byte, 0, len(v))
		}
		for k, c := range sc.src {
			if sc.mask[k] {
				out = append(out, v[copied:c.lo]...)
				out = append(out, '*')
				copied = int(c.hi)
			}
		}
		return true
	})
	if out == nil {
		return v, false, nil
	}
	return append(out, v[copied:]...), true, nil
}

// ApplyJSON applies the policy to v: under Reject an error wrapping
// ErrFiltered when v holds a blocked word; under Mask v masked. what names
// the value in the error.
func (f *Filter) ApplyJSON(what string, v json.RawMessage) (json.RawMessage, error) {
	if f.Policy() == Mask {
		m, _, err := f.MaskJSON(v)
		return m, err
	}
	found, err := f.MatchJSON(v)
	if err != nil {
		return v, err
	}
	if found {
		return v, fmt.Errorf("%w: %s contains a blocked word", ErrFiltered, what)
	}
	return v, nil
}

// ApplyFields applies the policy to every value of an upsert's fields.
// Under Reject the error names the first field (in name order) that holds
// a blocked word. Under Mask the result is a new map when anything was
// masked and fields itself otherwise; fields is never modified.
func (f *Filter) ApplyFields(fields map[string]json.RawMessage) (map[string]json.RawMessage, error) {
	if !f.Enabled() {
		return fields, nil
	}
	out, cloned := fields, false
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		v := fields[name]
		m, err := f.ApplyJSON(fmt.Sprintf("field %q", name), v)
		if err != nil {
			return nil, err
		}
		if f.policy == Mask && !bytes.Equal(m, v) {
			if !cloned {
				out, cloned = maps.Clone(fields), true
			}
			out[name] = m
		}
	}
	return out, nil
}

// eachString calls fn for each string value of the valid JSON v, with
// sc.src holding its characters, until fn returns false. In valid JSON every '"' outside a string opens
// one, and a string is a key exactly when ':' follows it.
func eachString(v []byte, sc *scratch, fn func() bool) {
	for i := 0; i < len(v); {
		q := bytes.IndexByte(v[i:], '"')
		if q < 0 {
			return
		}
		open := i + q
		sc.src, i = jsonChars(sc.src[:0], v, open)
		if isKey(v, i) {
			continue
		}
		if !fn() {
			return
		}
	}
}

// isKey reports whether the string that ended just before v[i] is an
// object key.
func isKey(v []byte, i int) bool {
	for ; i < len(v); i++ {
		switch v[i] {
		case ' ', '\t', '\n', '\r':
			continue
		case ':':
			return true
		}
		return false
	}
	return false
}

// jsonChars appends the characters of the string literal that opens at
// v[open] to dst and returns the index after its closing quote. An escape
// is one character; a surrogate pair is one; a lone surrogate is U+FFFD,
// as encoding/json decodes it.
func jsonChars(dst []srcChar, v []byte, open int) ([]srcChar, int) {
	j := open + 1
	for j < len(v) {
		b := v[j]
		switch {
		case b == '"':
			return dst, j + 1
		case b == '\\' && j+1 < len(v):
			r, w := unescape(v[j:])
			dst = append(dst, srcChar{r: r, lo: int32(j), hi: int32(j + w)})
			j += w
		case b < utf8.RuneSelf:
			dst = append(dst, srcChar{r: rune(b), lo: int32(j), hi: int32(j + 1)})
			j++
		default:
			r, w := utf8.DecodeRune(v[j:])
			dst = append(dst, srcChar{r: r, lo: int32(j), hi: int32(j + w)})
			j += w
		}
	}
	return dst, j
}

// unescape decodes the escape at the start of e (e[0] == '\\').
func unescape(e []byte) (rune, int) {
	switch e[1] {
	case 'b':
		return '\b', 2
	case 'f':
		return '\f', 2
	case 'n':
		return '\n', 2
	case 'r':
		return '\r', 2
	case 't':
		return '\t', 2
	case 'u':
		r, ok := hex4(e[2:])
		if !ok {
			return utf8.RuneError, 2
		}
		if !utf16.IsSurrogate(r) {
			return r, 6
		}
		if len(e) >= 12 && e[6] == '\\' && e[7] == 'u' {
			if lo, ok := hex4(e[8:]); ok {
				if d := utf16.DecodeRune(r, lo); d != utf8.RuneError {
					return d, 12
				}
			}
		}
		return utf8.RuneError, 6
	}
	return rune(e[1]), 2 // '"', '\\', '/'
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
