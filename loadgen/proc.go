package loadgen

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat.
// It is 100 on every Linux architecture Go supports (the kernel's ABI fixes
// it; sysconf(_SC_CLK_TCK) would need cgo).
const clockTicks = 100

// procSample is what /proc says about one process at one moment.
type procSample struct {
	cpu     float64 // seconds of user + system time since the process started
	rss     int64   // bytes
	threads int
	ok      bool
}

// readProc reads /proc/<pid>/stat and /proc/<pid>/status. A process that is
// gone (or a system without /proc) gives ok == false, never an error: the
// numbers are a report, not a condition of the run.
func readProc(pid int) procSample {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procSample{}
	}
	cpu, err := parseStatCPU(stat)
	if err != nil {
		return procSample{}
	}
	status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return procSample{}
	}
	rssKB := statusField(status, "VmRSS:")
	threads := statusField(status, "Threads:")
	return procSample{cpu: cpu, rss: rssKB * 1024, threads: int(threads), ok: true}
}

// parseStatCPU returns utime+stime in seconds. The command name (field 2)
// is in parentheses and may hold spaces, so fields are counted from the
// last ')'.
func parseStatCPU(stat []byte) (float64, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("stat: no command name")
	}
	fields := bytes.Fields(stat[i+1:])
	// After ')': state is field 3, so utime (14) and stime (15) are at
	// indexes 11 and 12.
	if len(fields) < 13 {
		return 0, fmt.Errorf("stat: %d fields after the name", len(fields))
	}
	ut, err1 := strconv.ParseUint(string(fields[11]), 10, 64)
	st, err2 := strconv.ParseUint(string(fields[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("stat: utime %q stime %q", fields[11], fields[12])
	}
	return float64(ut+st) / clockTicks, nil
}

// statusField is the first number after name in /proc/<pid>/status.
func statusField(status []byte, name string) int64 {
	i := bytes.Index(status, []byte("\n"+name))
	if i < 0 {
		return 0
	}
	rest := status[i+1+len(name):]
	if j := bytes.IndexByte(rest, '\n'); j >= 0 {
		rest = rest[:j]
	}
	f := bytes.Fields(rest)
	if len(f) == 0 {
		return 0
	}
	n, _ := strconv.ParseInt(string(f[0]), 10, 64)
	return n
}
