package admin

import (
	"math"
	"runtime"
	"runtime/metrics"
)

// Runtime is the Go runtime and the process as the admin page shows them.
// It is read with runtime/metrics, which (unlike runtime.ReadMemStats) does
// not stop the world, so polling it every two seconds costs nothing.
type Runtime struct {
	GoVersion  string `json:"go_version"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	Goroutines uint64 `json:"goroutines"`
	// HeapBytes is the memory of heap objects, live or not yet swept.
	HeapBytes uint64 `json:"heap_bytes"`
	// HeapGoalBytes is the heap size at which the next GC starts.
	HeapGoalBytes uint64 `json:"heap_goal_bytes"`
	HeapObjects   uint64 `json:"heap_objects"`
	// TotalBytes is all memory the runtime has mapped from the OS.
	TotalBytes uint64 `json:"total_bytes"`
	GCCycles   uint64 `json:"gc_cycles"`
	// GCCPUFraction is the share of the process's available CPU time spent
	// in the GC since it started.
	GCCPUFraction float64 `json:"gc_cpu_fraction"`
	// GCPauseP99Seconds is the 99th percentile of stop-the-world GC pauses
	// since start (bucket upper bound).
	GCPauseP99Seconds float64 `json:"gc_pause_p99_seconds"`
	// RSSBytes and CPUSeconds come from the OS (0 where unsupported).
	RSSBytes   uint64  `json:"rss_bytes"`
	CPUSeconds float64 `json:"cpu_seconds"`
}

var runtimeSamples = []string{
	"/sched/goroutines:goroutines",
	"/memory/classes/heap/objects:bytes",
	"/gc/heap/goal:bytes",
	"/gc/heap/objects:objects",
	"/memory/classes/total:bytes",
	"/gc/cycles/total:gc-cycles",
	"/cpu/classes/gc/total:cpu-seconds",
	"/cpu/classes/total:cpu-seconds",
	"/sched/pauses/total/gc:seconds",
}

// ReadRuntime reads the runtime and process figures now.
func ReadRuntime() Runtime {
	s := make([]metrics.Sample, len(runtimeSamples))
	for i, name := range runtimeSamples {
		s[i].Name = name
	}
	metrics.Read(s)
	rt := Runtime{
		GoVersion:     runtime.Version(),
		GOMAXPROCS:    runtime.GOMAXPROCS(0),
		Goroutines:    sampleUint(s[0]),
		HeapBytes:     sampleUint(s[1]),
		HeapGoalBytes: sampleUint(s[2]),
		HeapObjects:   sampleUint(s[3]),
		TotalBytes:    sampleUint(s[4]),
		GCCycles:      sampleUint(s[5]),
	}
	if gc, total := sampleFloat(s[6]), sampleFloat(s[7]); total > 0 {
		rt.GCCPUFraction = gc / total
	}
	if s[8].Value.Kind() == metrics.KindFloat64Histogram {
		rt.GCPauseP99Seconds = quantile(s[8].Value.Float64Histogram(), 0.99)
	}
	rt.RSSBytes, rt.CPUSeconds = readProcess()
	return rt
}

// Samples a Go release does not support read as zero rather than failing.
func sampleUint(s metrics.Sample) uint64 {
	if s.Value.Kind() == metrics.KindUint64 {
		return s.Value.Uint64()
	}
	return 0
}

func sampleFloat(s metrics.Sample) float64 {
	if s.Value.Kind() == metrics.KindFloat64 {
		return s.Value.Float64()
	}
	return 0
}

// quantile is the upper bound of the bucket holding the q-th quantile (the
// lower bound when the last bucket is open-ended), 0 for an empty histogram.
func quantile(h *metrics.Float64Histogram, q float64) float64 {
	var total uint64
	for _, c := range h.Counts {
		total += c
	}
	if total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(total)))
	var seen uint64
	for i, c := range h.Counts {
		seen += c
		if seen >= rank {
			if hi := h.Buckets[i+1]; !math.IsInf(hi, 1) {
				return hi
			}
			return h.Buckets[i]
		}
	}
	return 0
}

// readGoroutinesAndHeap reads just the two runtime figures the sampler
// plots (the same as Runtime's Goroutines and HeapBytes).
func readGoroutinesAndHeap() (goroutines, heapBytes uint64) {
	s := []metrics.Sample{{Name: runtimeSamples[0]}, {Name: runtimeSamples[1]}}
	metrics.Read(s)
	return sampleUint(s[0]), sampleUint(s[1])
}
