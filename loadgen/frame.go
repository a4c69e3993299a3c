package loadgen

import "bytes"

// Server frames are scanned, not decoded: papercast writes `"type"` first
// and the receivers only need a few numbers from each frame, so a JSON
// decoder per frame would make the generator, not the server, the
// bottleneck. The scans are safe because loadgen writes every field name and
// string value the server echoes (none holds a quote, a backslash or one of
// the keys below).

var (
	typePrefix = []byte(`{"type":"`)
	keySeq     = []byte(`"seq":`)
	keyT       = []byte(`"t":`)
	keySrc     = []byte(`"src":`)
	keyN       = []byte(`"n":`)
	keyRef     = []byte(`"ref":"`)
	keyCode    = []byte(`"code":"`)
)

// frameType is the value of the leading "type" field, or nil.
func frameType(b []byte) []byte {
	if !bytes.HasPrefix(b, typePrefix) {
		return nil
	}
	rest := b[len(typePrefix):]
	end := bytes.IndexByte(rest, '"')
	if end < 0 {
		return nil
	}
	return rest[:end]
}

// uintAfter parses the unsigned integer right after the first key in b.
func uintAfter(b, key []byte) (uint64, bool) {
	i := bytes.Index(b, key)
	if i < 0 {
		return 0, false
	}
	b = b[i+len(key):]
	var n uint64
	j := 0
	for ; j < len(b) && b[j] >= '0' && b[j] <= '9'; j++ {
		n = n*10 + uint64(b[j]-'0')
	}
	return n, j > 0
}

// stringAfter is the string value after key (which ends with the opening
// quote), assuming it has no escapes.
func stringAfter(b, key []byte) ([]byte, bool) {
	i := bytes.Index(b, key)
	if i < 0 {
		return nil, false
	}
	b = b[i+len(key):]
	end := bytes.IndexByte(b, '"')
	if end < 0 {
		return nil, false
	}
	return b[:end], true
}

// parseUintBytes parses a decimal without allocating.
func parseUintBytes(b []byte) (uint64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, true
}

// parseRef reads the ref loadgen puts on its ops: "<t>-<n>", the send time
// (ns since the run started) and the sender's op counter.
func parseRef(ref []byte) (t, n uint64, ok bool) {
	i := bytes.IndexByte(ref, '-')
	if i < 0 {
		return 0, 0, false
	}
	if t, ok = parseUintBytes(ref[:i]); !ok {
		return 0, 0, false
	}
	n, ok = parseUintBytes(ref[i+1:])
	return t, n, ok
}
