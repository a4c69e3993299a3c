// Package jsonscan is a small allocation-free JSON validator and scanner for
// the few shapes of client frames: Valid checks a whole input once, then
// Members walks an object's members and Unquoter, Compact and AppendCompact
// take values apart without building a tree.
//
// Valid accepts and rejects exactly what encoding/json.Valid does (a fuzz
// target holds the two together), including its nesting limit of 10,000 and
// its leniency about UTF-8: like encoding/json, Valid accepts any byte at or
// above 0x20 inside a string, invalid UTF-8 included. Callers that must
// reject invalid UTF-8 (RFC 8259 section 8.1) check utf8.Valid themselves,
// as protocol.DecodeClient does before it gets here.
//
// Everything but Valid assumes its input is valid JSON (Valid said so): it
// does not check again, and on invalid input its results are unspecified
// (but it never panics or reads out of bounds).
package jsonscan

// maxDepth is encoding/json's maxNestingDepth: an object or array nested
// deeper than this is invalid there, so it is here.
const maxDepth = 10000

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// SkipSpace returns the index of the first non-whitespace byte at or after i.
func SkipSpace(data []byte, i int) int {
	for i < len(data) && isSpace(data[i]) {
		i++
	}
	return i
}

// Valid reports whether data is exactly one JSON value, optionally
// surrounded by whitespace, as encoding/json.Valid does.
func Valid(data []byte) bool {
	// inObject has bit d set when the container at depth d (1-based) is an
	// object: a fixed bitset instead of a stack, so nothing is allocated.
	var inObject [maxDepth/64 + 1]uint64
	depth := 0
	i := SkipSpace(data, 0)
	for {
		// A value starts at i.
		if i >= len(data) {
			return false
		}
		switch c := data[i]; {
		case c == '{':
			depth++
			if depth > maxDepth {
				return false
			}
			inObject[depth/64] |= 1 << (depth % 64)
			i = SkipSpace(data, i+1)
			if i < len(data) && data[i] == '}' {
				i++
				depth--
				break
			}
			if i = memberKey(data, i); i < 0 {
				return false
			}
			continue
		case c == '[':
			depth++
			if depth > maxDepth {
				return false
			}
			inObject[depth/64] &^= 1 << (depth % 64)
			i = SkipSpace(data, i+1)
			if i < len(data) && data[i] == ']' {
				i++
				depth--
				break
			}
			continue
		case c == '"':
			if i = scanString(data, i); i < 0 {
				return false
			}
		case c == '-' || c >= '0' && c <= '9':
			if i = scanNumber(data, i); i < 0 {
				return false
			}
		case c == 't':
			if i = literal(data, i, "true"); i < 0 {
				return false
			}
		case c == 'f':
			if i = literal(data, i, "false"); i < 0 {
				return false
			}
		case c == 'n':
			if i = literal(data, i, "null"); i < 0 {
				return false
			}
		default:
			return false
		}
		// A value ended at i: close containers until another value is due.
		for {
			i = SkipSpace(data, i)
			if depth == 0 {
				return i == len(data)
			}
			if i >= len(data) {
				return false
			}
			obj := inObject[depth/64]&(1<<(depth%64)) != 0
			c := data[i]
			if c == ',' {
				i = SkipSpace(data, i+1)
				if obj {
					if i = memberKey(data, i); i < 0 {
						return false
					}
				}
				break
			}
			if obj && c == '}' || !obj && c == ']' {
				i++
				depth--
				continue
			}
			return false
		}
	}
}

// memberKey scans `"key" :` and the whitespace after it, returning the
// index of the member's value, or -1.
func memberKey(data []byte, i int) int {
	if i >= len(data) || data[i] != '"' {
		return -1
	}
	if i = scanString(data, i); i < 0 {
		return -1
	}
	i = SkipSpace(data, i)
	if i >= len(data) || data[i] != ':' {
		return -1
	}
	return SkipSpace(data, i+1)
}

// scanString checks the string starting at data[i] == '"' and returns the
// index after its closing quote, or -1.
func scanString(data []byte, i int) int {
	for i++; i < len(data); i++ {
		switch c := data[i]; {
		case c == '"':
			return i + 1
		case c < 0x20:
			return -1
		case c == '\\':
			i++
			if i >= len(data) {
				return -1
			}
			switch data[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(data) {
					return -1
				}
				for _, h := range data[i+1 : i+5] {
					if hexVal(h) < 0 {
						return -1
					}
				}
				i += 4
			default:
				return -1
			}
		}
	}
	return -1
}

func hexVal(c byte) rune {
	switch {
	case c >= '0' && c <= '9':
		return rune(c - '0')
	case c >= 'a' && c <= 'f':
		return rune(c - 'a' + 10)
	case c >= 'A' && c <= 'F':
		return rune(c - 'A' + 10)
	}
	return -1
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// scanNumber checks the number starting at data[i] and returns the index
// after it, or -1: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func scanNumber(data []byte, i int) int {
	if data[i] == '-' {
		i++
	}
	switch {
	case i >= len(data):
		return -1
	case data[i] == '0':
		i++
	case data[i] >= '1' && data[i] <= '9':
		for i++; i < len(data) && isDigit(data[i]); i++ {
		}
	default:
		return -1
	}
	if i < len(data) && data[i] == '.' {
		i++
		if i >= len(data) || !isDigit(data[i]) {
			return -1
		}
		for i++; i < len(data) && isDigit(data[i]); i++ {
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if i >= len(data) || !isDigit(data[i]) {
			return -1
		}
		for i++; i < len(data) && isDigit(data[i]); i++ {
		}
	}
	return i
}

func literal(data []byte, i int, lit string) int {
	if len(data)-i < len(lit) || string(data[i:i+len(lit)]) != lit {
		return -1
	}
	return i + len(lit)
}
