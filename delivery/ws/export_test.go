package ws

import (
	"net"
	"slices"

	"github.com/papercast/papercast/protocol"
)

// SetFrameHook lets tests run code (e.g. a panic) inside message handling.
func SetFrameHook(h *Handler, f func(data []byte)) { h.frameHook = f }

// SetDecoder replaces the client frame decoder, so a test can hand the
// session a frame type the real decoder does not accept (yet).
func SetDecoder(h *Handler, decode func(data []byte) (protocol.ClientFrame, error)) {
	h.decode = decode
}

// SetConnWrap wraps every later session's raw connection (under its cork),
// so a test can count or hold the writes that reach the socket.
func SetConnWrap(h *Handler, wrap func(net.Conn) net.Conn) { h.connWrap = wrap }

// Outboxes lists, per connected session, its waiting frames; nil for a
// session closed over its bounds. Order is melody's (unspecified).
func Outboxes(h *Handler) []Outbox {
	ss, _ := h.m.Sessions()
	var out []Outbox
	for _, s := range ss {
		sess := sessionOf(s)
		if sess == nil {
			continue
		}
		sess.out.mu.Lock()
		out = append(out, Outbox{InFlight: sess.out.inFlight, Closed: sess.out.closed, Pending: slices.Clone(sess.out.pending)})
		sess.out.mu.Unlock()
	}
	return out
}

// Outbox is one session's outbox as Outboxes saw it.
type Outbox struct {
	InFlight, Closed bool
	Pending          [][]byte
}
