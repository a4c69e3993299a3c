package jsonscan

import (
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// ValueEnd returns the index just past the value that starts at data[i].
func ValueEnd(data []byte, i int) int {
	if i >= len(data) {
		return i
	}
	switch data[i] {
	case '"':
		return stringEnd(data, i)
	case '{', '[':
		depth := 0
		for ; i < len(data); i++ {
			switch data[i] {
			case '"':
				i = stringEnd(data, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return i
	default: // number or literal: runs to the next delimiter
		for ; i < len(data); i++ {
			switch data[i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return i
			}
		}
		return i
	}
}

// stringEnd returns the index after the closing quote of the string that
// starts at data[i] == '"'.
func stringEnd(data []byte, i int) int {
	for i++; i < len(data); i++ {
		switch data[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(data)
}

// Members walks the members of an object. The zero Members has none.
type Members struct {
	data []byte
	i    int
}

// Object starts a walk over the members of the object at the start of obj
// (after optional whitespace).
func Object(obj []byte) Members {
	i := SkipSpace(obj, 0)
	if i < len(obj) && obj[i] == '{' {
		i++
	}
	return Members{data: obj, i: i}
}

// Next returns the next member: its key as the raw string token, quotes
// included (see Unquoter), and its value exactly as written. ok is false
// after the last member.
func (m *Members) Next() (key, value []byte, ok bool) {
	d := m.data
	i := SkipSpace(d, m.i)
	if i < len(d) && d[i] == ',' {
		i = SkipSpace(d, i+1)
	}
	if i >= len(d) || d[i] != '"' {
		m.i = len(d)
		return nil, nil, false
	}
	k := stringEnd(d, i)
	key = d[i:k]
	i = SkipSpace(d, k)
	if i < len(d) && d[i] == ':' {
		i++
	}
	i = SkipSpace(d, i)
	e := ValueEnd(d, i)
	m.i = e
	return key, d[i:e], true
}

// Plain reports whether the string token tok (quotes included) has no
// escapes and is valid UTF-8, so that its contents are tok[1:len(tok)-1]
// as they stand.
func Plain(tok []byte) bool {
	ascii := true
	for _, c := range tok[1 : len(tok)-1] {
		if c == '\\' {
			return false
		}
		if c >= utf8.RuneSelf {
			ascii = false
		}
	}
	return ascii || utf8.Valid(tok)
}

// AppendUnquote appends the contents of the string token tok (quotes
// included) to dst, escapes decoded exactly as encoding/json decodes them:
// a \u escape of a lone or mismatched surrogate becomes U+FFFD, and so does
// each byte of invalid UTF-8.
func AppendUnquote(dst, tok []byte) []byte {
	s := tok[1 : len(tok)-1]
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\':
			if i+1 >= len(s) {
				return dst
			}
			switch s[i+1] {
			case 'b':
				dst = append(dst, '\b')
			case 'f':
				dst = append(dst, '\f')
			case 'n':
				dst = append(dst, '\n')
			case 'r':
				dst = append(dst, '\r')
			case 't':
				dst = append(dst, '\t')
			case 'u':
				r := getu4(s[i:])
				if r < 0 {
					return dst
				}
				i += 6
				if utf16.IsSurrogate(r) {
					if r2 := getu4(s[i:]); r2 >= 0 {
						if dec := utf16.DecodeRune(r, r2); dec != unicode.ReplacementChar {
							i += 6
							dst = utf8.AppendRune(dst, dec)
							continue
						}
					}
					r = unicode.ReplacementChar
				}
				dst = utf8.AppendRune(dst, r)
				continue
			default: // '"', '\\', '/'
				dst = append(dst, s[i+1])
			}
			i += 2
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			i++
		default:
			r, size := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && size == 1 {
				dst = utf8.AppendRune(dst, unicode.ReplacementChar)
			} else {
				dst = append(dst, s[i:i+size]...)
			}
			i += size
		}
	}
	return dst
}

// getu4 decodes \uXXXX at the start of s, or returns -1.
func getu4(s []byte) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range s[2:6] {
		h := hexVal(c)
		if h < 0 {
			return -1
		}
		r = r*16 + h
	}
	return r
}

// Unquoter decodes string tokens into a buffer it reuses, so decoding many
// strings allocates only while the buffer grows.
type Unquoter struct{ buf []byte }

// Unquote returns the contents of the string token tok (quotes included):
// a sub-slice of tok when it has no escapes, else the decoded bytes in the
// Unquoter's buffer, valid until the next call.
func (u *Unquoter) Unquote(tok []byte) []byte {
	if Plain(tok) {
		return tok[1 : len(tok)-1]
	}
	u.buf = AppendUnquote(u.buf[:0], tok)
	return u.buf
}

// HasSpace reports whether v holds a whitespace byte anywhere (inside
// strings too): when it does not, v is already compact.
func HasSpace(v []byte) bool {
	for _, c := range v {
		if isSpace(c) {
			return true
		}
	}
	return false
}

// AppendCompact appends v without its insignificant whitespace, as
// encoding/json.Compact writes it (which escapes nothing).
func AppendCompact(dst, v []byte) []byte {
	for i := 0; i < len(v); {
		c := v[i]
		switch {
		case isSpace(c):
			i++
		case c == '"':
			e := stringEnd(v, i)
			dst = append(dst, v[i:e]...)
			i = e
		default:
			j := i + 1
			for j < len(v) && v[j] != '"' && !isSpace(v[j]) {
				j++
			}
			dst = append(dst, v[i:j]...)
			i = j
		}
	}
	return dst
}
