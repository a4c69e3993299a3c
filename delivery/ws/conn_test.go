package ws

import (
	"bytes"
	"net"
	"testing"
)

// countConn records each write that reaches it.
type countConn struct {
	net.Conn
	writes [][]byte
}

func (c *countConn) Write(p []byte) (int, error) {
	c.writes = append(c.writes, bytes.Clone(p))
	return len(p), nil
}

func TestCorkConnGathersWritesUntilFlush(t *testing.T) {
	big := bytes.Repeat([]byte("b"), maxCork)
	for _, tc := range []struct {
		name   string
		writes [][]byte
		want   [][]byte // what reaches the socket, write by write
	}{
		{"small writes leave in one", [][]byte{[]byte("a"), []byte("bc"), []byte("d")}, [][]byte{[]byte("abcd")}},
		{"nothing written, nothing flushed", nil, nil},
		{"a write past the bound goes straight, after what was gathered", [][]byte{[]byte("a"), big, []byte("c")}, [][]byte{[]byte("a"), big, []byte("c")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := &countConn{}
			c := &corkConn{Conn: raw}
			if _, err := c.Write([]byte("x")); err != nil || len(raw.writes) != 1 {
				t.Fatalf("uncorked write: %v, %d writes", err, len(raw.writes))
			}
			raw.writes = nil
			c.cork()
			for _, w := range tc.writes {
				if n, err := c.Write(w); err != nil || n != len(w) {
					t.Fatalf("write: %d, %v", n, err)
				}
			}
			if err := c.flush(); err != nil {
				t.Fatal(err)
			}
			if len(raw.writes) != len(tc.want) {
				t.Fatalf("%d writes reached the socket, want %d", len(raw.writes), len(tc.want))
			}
			for i := range tc.want {
				if !bytes.Equal(raw.writes[i], tc.want[i]) {
					t.Fatalf("write %d: %.20q..., want %.20q...", i, raw.writes[i], tc.want[i])
				}
			}
		})
	}
}
