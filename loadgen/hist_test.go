package loadgen

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

func TestBucketsCoverEveryValueOnceInOrder(t *testing.T) {
	// Each bucket starts right after the previous one ends.
	_, prevHi := bucketBounds(0)
	for i := 1; i < nBuckets; i++ {
		lo, hi := bucketBounds(i)
		if lo != prevHi+1 {
			t.Fatalf("bucket %d starts at %d, previous ended at %d", i, lo, prevHi)
		}
		if hi < lo {
			t.Fatalf("bucket %d is [%d,%d]", i, lo, hi)
		}
		if hi == math.MaxInt64 {
			break
		}
		prevHi = hi
	}
	for _, v := range []int64{0, 1, 255, 256, 257, 1000, 1 << 20, 123456789, math.MaxInt64} {
		lo, hi := bucketBounds(bucketOf(v))
		if v < lo || v > hi {
			t.Errorf("value %d put in bucket [%d,%d]", v, lo, hi)
		}
		if v > 256 && float64(hi-lo) > float64(v)/subCount {
			t.Errorf("bucket of %d is %d wide: coarser than 1/%d", v, hi-lo+1, subCount)
		}
	}
}

func TestQuantilesWithinOnePercentOfExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var h shardedHist
	vals := make([]int64, 100000)
	for i := range vals {
		// Log-normal-ish latencies from 100 us to seconds.
		vals[i] = int64(math.Exp(rng.NormFloat64()*1.5+14)) + 1
		h.record(i, vals[i])
	}
	sort.Slice(vals, func(i, j int) bool { return vals[i] < vals[j] })
	s := h.snapshot()
	if s.total != uint64(len(vals)) {
		t.Fatalf("total %d, want %d", s.total, len(vals))
	}
	if s.max != vals[len(vals)-1] {
		t.Fatalf("max %d, want %d", s.max, vals[len(vals)-1])
	}
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		exact := vals[int(math.Ceil(q*float64(len(vals))))-1]
		got := s.quantile(q)
		if got < exact || float64(got-exact) > float64(exact)/100 {
			t.Errorf("q%.3f = %d, exact %d: not within +1%%", q, got, exact)
		}
	}
}

func TestEmptyHistogramReportsZero(t *testing.T) {
	var h shardedHist
	if q := quantilesOf(&h); q != (Quantiles{}) {
		t.Fatalf("empty histogram gave %+v", q)
	}
}
