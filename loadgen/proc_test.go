package loadgen

import (
	"os"
	"runtime"
	"testing"
)

func TestParseStatCPUCountsFromTheLastParen(t *testing.T) {
	// A command name with spaces and a parenthesis must not shift fields.
	stat := []byte("1234 (my (odd) prog) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 100 1000 200")
	cpu, err := parseStatCPU(stat)
	if err != nil {
		t.Fatal(err)
	}
	if cpu != 3.0 {
		t.Fatalf("cpu %v s, want 3 (250+50 ticks)", cpu)
	}
	if _, err := parseStatCPU([]byte("1234 (x) S 1")); err == nil {
		t.Fatal("a short stat line parsed")
	}
}

func TestReadProcSeesThisProcess(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc is Linux's")
	}
	s := readProc(os.Getpid())
	if !s.ok || s.rss <= 0 || s.threads <= 0 {
		t.Fatalf("readProc(self) = %+v", s)
	}
	if gone := readProc(1 << 30); gone.ok {
		t.Fatal("a pid that cannot exist was read")
	}
}
