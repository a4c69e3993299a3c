package ws

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"sync"
)

// corkConn is the hijacked connection with a cork: between cork and flush
// the frames gorilla writes are gathered in one buffer and leave in one
// write(2). Uncorked (handshake, melody's own frames, pings, close frames)
// every write goes straight through. The buffer is pooled: an idle session
// holds none.
type corkConn struct {
	net.Conn
	mu     sync.Mutex
	corked bool
	buf    *[]byte
}

func (c *corkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	if !c.corked {
		c.mu.Unlock()
		return c.Conn.Write(p)
	}
	if len(*c.buf)+len(p) <= maxCork {
		*c.buf = append(*c.buf, p...)
		c.mu.Unlock()
		return len(p), nil
	}
	// Too much to gather (a big snapshot or batch): what was gathered goes
	// first, then p, straight, so a big frame is not copied once more. The
	// caller is gorilla holding its write lock, so no control frame can
	// come between the two.
	gathered := *c.buf
	next := getBuf()
	c.buf = next
	c.mu.Unlock()
	if len(gathered) > 0 {
		_, err := c.Conn.Write(gathered)
		b := gathered[:0]
		putBuf(&b)
		if err != nil {
			return 0, fmt.Errorf("flush %d bytes: %w", len(gathered), err)
		}
	}
	return c.Conn.Write(p)
}

// maxCork bounds what one flush cycle gathers.
const maxCork = 64 << 10

// cork starts gathering writes.
func (c *corkConn) cork() {
	c.mu.Lock()
	c.corked = true
	c.buf = getBuf()
	c.mu.Unlock()
}

// flush writes what was gathered, in one write, and uncorks. The write is
// made outside the lock: a control frame written meanwhile (a slow
// consumer's close, from another goroutine) goes before or after it whole,
// as net.Conn writes do not interleave.
func (c *corkConn) flush() error {
	c.mu.Lock()
	if !c.corked {
		c.mu.Unlock()
		return nil
	}
	c.corked = false
	bp := c.buf
	c.buf = nil
	c.mu.Unlock()
	defer putBuf(bp)
	if len(*bp) == 0 {
		return nil
	}
	if _, err := c.Conn.Write(*bp); err != nil {
		return fmt.Errorf("flush %d bytes: %w", len(*bp), err)
	}
	return nil
}

// Flush buffers are pooled; one that grew past maxPooled (a burst of big
// frames) is left to the collector rather than kept.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

const maxPooled = 256 << 10

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) > maxPooled {
		return
	}
	*b = (*b)[:0]
	bufPool.Put(b)
}

// hijackWriter hands gorilla's upgrader a corked connection: the upgrader
// hijacks the ResponseWriter it is given, so this wrapper's Hijack is where
// the connection can be wrapped.
type hijackWriter struct {
	http.ResponseWriter
	sess *session
	// wrap, when set (tests), wraps the raw connection under the cork.
	wrap func(net.Conn) net.Conn
}

func (w *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, fmt.Errorf("hijack: %w", err)
	}
	if w.wrap != nil {
		c = w.wrap(c)
	}
	cc := &corkConn{Conn: c}
	w.sess.cork = cc
	return cc, brw, nil
}
