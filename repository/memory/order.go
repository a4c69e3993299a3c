package memory

import (
	"time"

	"github.com/papercast/papercast/usecase"
)

// sessionOrder is one paper's memory of the last op applied for each
// session (usecase.OpOrder). Guarded by the paper's mutex. Apply runs in
// its caller's goroutine here, so a session's ops cannot overtake each other
// in this store; the rule is kept anyway so both stores pass one contract.
type sessionOrder struct {
	last map[string]orderMark
	// sweepAt is the size at which the next sweep runs: twice the size after
	// the last one, so forgetting costs O(1) per op amortized.
	sweepAt int
}

type orderMark struct {
	n  uint64
	at time.Time
}

// minSweep is the smallest sweepAt: small papers never sweep.
const minSweep = 64

// stale reports whether the session already had a later op applied.
func (so *sessionOrder) stale(o usecase.OpOrder) bool {
	if o.Session == "" {
		return false
	}
	m, ok := so.last[o.Session]
	return ok && m.n >= o.N
}

// applied records o as applied at now, and forgets sessions whose last op
// is older than usecase.OpOrderMemory.
func (so *sessionOrder) applied(o usecase.OpOrder, now time.Time) {
	if o.Session == "" {
		return
	}
	if so.last == nil {
		so.last = make(map[string]orderMark)
	}
	so.last[o.Session] = orderMark{n: o.N, at: now}
	if len(so.last) < max(so.sweepAt, minSweep) {
		return
	}
	for s, m := range so.last {
		if now.Sub(m.at) > usecase.OpOrderMemory {
			delete(so.last, s)
		}
	}
	so.sweepAt = 2 * len(so.last)
}
