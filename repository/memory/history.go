package memory

import "github.com/papercast/papercast/domain"

// history is a paper's last size events, a ring that grows up to size on
// demand (most papers never fill it) and then overwrites its oldest entry.
// The events held always have consecutive seqs ending at the paper's seq.
type history struct {
	size  int
	buf   []domain.Event
	start int // index of the oldest event once buf is full
}

func (h *history) push(ev domain.Event) {
	if len(h.buf) < h.size {
		h.buf = append(h.buf, ev)
		return
	}
	h.buf[h.start] = ev
	h.start = (h.start + 1) % len(h.buf)
}

// since returns a copy of the events with seq in (since, cur], oldest first,
// and false when the ring no longer reaches back to since+1. It requires
// since <= cur.
func (h *history) since(since, cur uint64) ([]domain.Event, bool) {
	want := cur - since
	if want > uint64(len(h.buf)) {
		return nil, false
	}
	out := make([]domain.Event, want)
	first := len(h.buf) - int(want) // position from the oldest
	for i := range out {
		out[i] = h.buf[(h.start+first+i)%len(h.buf)]
	}
	return out, true
}
