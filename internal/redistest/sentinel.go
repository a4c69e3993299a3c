package redistest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// SentinelMasterSet is the master set name StartSentinel monitors.
const SentinelMasterSet = "mymaster"

// StartSentinel starts one Redis Sentinel (redis-server --sentinel) on a
// free loopback port that monitors master as SentinelMasterSet with a
// quorum of one, and waits until it reports the master's address.
func StartSentinel(t testing.TB, master *Server) *Server {
	t.Helper()
	bin := lookPath(t, "redis-server")
	s := &Server{t: t, bin: bin, dir: t.TempDir()}
	t.Cleanup(s.cleanup)
	conf := filepath.Join(s.dir, "sentinel.conf")
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		s.port = freePort(t, false)
		// Sentinel rewrites its config file, so it lives in the temp dir.
		body := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nlogfile %s\nsentinel monitor %s 127.0.0.1 %d 1\nsentinel down-after-milliseconds %s 1000\n",
			s.port, s.dir, filepath.Join(s.dir, "redis.log"), SentinelMasterSet, master.port, SentinelMasterSet)
		if err = os.WriteFile(conf, []byte(body), 0o600); err != nil {
			t.Fatalf("redistest: %v", err)
		}
		s.args = []string{conf, "--sentinel"}
		if err = s.start(); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("redistest: sentinel did not start: %v", err)
	}
	want := "127.0.0.1\n" + strconv.Itoa(master.port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := s.Do("SENTINEL", "get-master-addr-by-name", SentinelMasterSet)
		if err == nil && strings.TrimSpace(got) == want {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("redistest: sentinel does not report the master (%q, %v)", got, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
