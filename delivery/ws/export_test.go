package ws

import "github.com/papercast/papercast/protocol"

// SetFrameHook lets tests run code (e.g. a panic) inside message handling.
func SetFrameHook(h *Handler, f func(data []byte)) { h.frameHook = f }

// SetDecoder replaces the client frame decoder, so a test can hand the
// session a frame type the real decoder does not accept (yet).
func SetDecoder(h *Handler, decode func(data []byte) (protocol.ClientFrame, error)) {
	h.decode = decode
}
