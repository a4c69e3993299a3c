package admin

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
)

// readProcess reads the resident set size from /proc/self/statm and the
// user+system CPU time from getrusage.
func readProcess() (rss uint64, cpuSeconds float64) {
	if b, err := os.ReadFile("/proc/self/statm"); err == nil {
		if f := bytes.Fields(b); len(f) > 1 {
			if pages, err := strconv.ParseUint(string(f[1]), 10, 64); err == nil {
				rss = pages * uint64(os.Getpagesize())
			}
		}
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		cpuSeconds = tvSeconds(ru.Utime) + tvSeconds(ru.Stime)
	}
	return rss, cpuSeconds
}

func tvSeconds(tv syscall.Timeval) float64 {
	return float64(tv.Sec) + float64(tv.Usec)/1e6
}
