package loadgen

import (
	"math"
	"math/bits"
	"sync/atomic"
)

// A log-linear bucket histogram in the spirit of HdrHistogram, written here
// rather than imported: it is fifty lines, it is safe for concurrent Record
// without a lock (one atomic add per value), and it keeps the module graph
// as the lead pinned it.
//
// Values below 2*subCount are exact; above, each power of two is split into
// subCount buckets, so a bucket's width is under 1/subCount (0.8%) of its
// value: p99.9 of a latency in ns is read to better than 1%.
const (
	subBits  = 7
	subCount = 1 << subBits
	// Enough buckets for any non-negative int64.
	nBuckets = subCount * (64 - subBits)
)

// hist is one histogram of non-negative int64 values (nanoseconds here).
type hist struct {
	counts [nBuckets]atomic.Uint64
	max    atomic.Int64
}

func bucketOf(v int64) int {
	if v < 0 {
		v = 0
	}
	u := uint64(v)
	if u < 2*subCount {
		return int(u)
	}
	e := bits.Len64(u) - (subBits + 1) // u>>e is in [subCount, 2*subCount)
	return subCount*(e+1) + int(u>>e) - subCount
}

// bucketBounds is the lowest and highest value that fall in bucket i.
func bucketBounds(i int) (lo, hi int64) {
	if i < 2*subCount {
		return int64(i), int64(i)
	}
	e := i/subCount - 1
	mant := uint64(i%subCount + subCount)
	lo64 := mant << e
	hi64 := (mant+1)<<e - 1
	if hi64 > math.MaxInt64 {
		hi64 = math.MaxInt64
	}
	return int64(lo64), int64(hi64)
}

func (h *hist) record(v int64) {
	h.counts[bucketOf(v)].Add(1)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			return
		}
	}
}

// shardedHist spreads recording over a few histograms so the readers on
// different cores do not fight over one hot bucket's cache line.
type shardedHist struct {
	shards [8]hist
}

func (s *shardedHist) record(shard int, v int64) { s.shards[shard&7].record(v) }

// snapshot merges the shards into plain counts for reading quantiles.
func (s *shardedHist) snapshot() *histSnapshot {
	out := &histSnapshot{counts: make([]uint64, nBuckets)}
	for i := range s.shards {
		sh := &s.shards[i]
		for b := range sh.counts {
			c := sh.counts[b].Load()
			out.counts[b] += c
			out.total += c
		}
		if m := sh.max.Load(); m > out.max {
			out.max = m
		}
	}
	return out
}

// histSnapshot is a merged, immutable copy of a histogram.
type histSnapshot struct {
	counts []uint64
	total  uint64
	max    int64
}

// quantile is the highest value of the bucket holding the q-th value (so it
// never under-reports), capped at the exact max.
func (h *histSnapshot) quantile(q float64) int64 {
	if h.total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.total)))
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			_, hi := bucketBounds(i)
			return min(hi, h.max)
		}
	}
	return h.max
}
