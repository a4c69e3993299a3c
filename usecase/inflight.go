package usecase

import "sync/atomic"

// DefaultMaxOpsInFlight is HubOptions.MaxOpsInFlight when unset: the ops
// one replica lets wait on the store at once. Past it an op is refused at
// once with domain.ErrOverloaded instead of queueing. Sized from
// docs/benchmarks.md: it must not throttle a healthy store (one Redis runs
// the apply script in ~25 us, ~40,000 ops/s, answering within ~10 ms: ~400
// in flight), and must keep the queue of a saturated replica far inside the
// 5 s store timeout (two saturated 2-core replicas stored ~700 ops/s each:
// 512 waiting is ~0.7 s), since an op that times out may still be stored.
const DefaultMaxOpsInFlight = 512

// inflight bounds the ops of one replica waiting on the store. A store that
// falls behind then answers ErrOverloaded ("not applied, retry later") at
// once, instead of letting calls queue until they time out with the
// ambiguous ErrUnavailable (the op may still land after the timeout).
type inflight struct {
	limit int64
	n     atomic.Int64
}

func newInflight(limit int) *inflight { return &inflight{limit: int64(limit)} }

// acquire takes a slot, or reports false when all are taken. A true must be
// paired with one release.
func (f *inflight) acquire() bool {
	if f.n.Add(1) > f.limit {
		f.n.Add(-1)
		return false
	}
	return true
}

func (f *inflight) release() { f.n.Add(-1) }
