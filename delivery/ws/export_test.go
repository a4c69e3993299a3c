package ws

// SetFrameHook lets tests run code (e.g. a panic) inside message handling.
func SetFrameHook(h *Handler, f func(data []byte)) { h.frameHook = f }
