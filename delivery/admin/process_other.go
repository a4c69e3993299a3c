//go:build !linux

package admin

// readProcess is only implemented on Linux; elsewhere the page shows 0.
func readProcess() (rss uint64, cpuSeconds float64) { return 0, 0 }
