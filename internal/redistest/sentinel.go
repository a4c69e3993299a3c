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
	return startSentinel(t, master, 1, SentinelTimes{DownAfter: time.Second})
}

func startSentinel(t testing.TB, master *Server, quorum int, times SentinelTimes) *Server {
	t.Helper()
	bin := lookPath(t, "redis-server")
	s := &Server{t: t, bin: bin, dir: t.TempDir()}
	t.Cleanup(s.cleanup)
	conf := filepath.Join(s.dir, "sentinel.conf")
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		s.port = freePort(t, false)
		// Sentinel rewrites its config file, so it lives in the temp dir.
		body := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nlogfile %s\nsentinel monitor %s 127.0.0.1 %d %d\nsentinel down-after-milliseconds %s %d\n",
			s.port, s.dir, filepath.Join(s.dir, "redis.log"), SentinelMasterSet, master.port, quorum, SentinelMasterSet, times.DownAfter.Milliseconds())
		if times.FailoverTimeout > 0 {
			body += fmt.Sprintf("sentinel failover-timeout %s %d\n", SentinelMasterSet, times.FailoverTimeout.Milliseconds())
		}
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
	WaitForMaster(t, s, master, 10*time.Second)
	return s
}

// Port is the server's TCP port.
func (s *Server) Port() int { return s.port }

// StartReplica starts a redis-server replicating master (--replicaof) and
// waits until its link to the master is up and the master counts it.
func StartReplica(t testing.TB, master *Server, opts ...Option) *Server {
	t.Helper()
	opts = append(opts, WithArgs("--replicaof", "127.0.0.1", strconv.Itoa(master.port)))
	r := Start(t, opts...)
	waitFor(t, 10*time.Second, "the replica's link to its master", func() bool {
		info, err := r.Do("INFO", "replication")
		return err == nil && strings.Contains(info, "master_link_status:up")
	})
	waitFor(t, 10*time.Second, "the master to count its replica", func() bool {
		info, err := master.Do("INFO", "replication")
		return err == nil && strings.Contains(info, "slave0:") && strings.Contains(info, "state=online")
	})
	return r
}

// CutReplication stops replica from receiving anything more from its
// master until Thaw is called: the replica is frozen (SIGSTOP) and the
// master drops its replica connections, so writes from now on exist only on
// the master, and the frozen replica cannot reconnect to fetch them. Thaw
// it (within Sentinel's down-after time, or Sentinel counts it down too):
// it then finds its link broken, as after a network cut.
func CutReplication(t testing.TB, master, replica *Server) (thaw func()) {
	t.Helper()
	replica.Pause()
	if _, err := master.Do("CLIENT", "KILL", "TYPE", "replica"); err != nil {
		replica.Resume()
		t.Fatalf("redistest: CLIENT KILL TYPE replica: %v", err)
	}
	return replica.Resume
}

// SentinelTimes are the Sentinel settings StartSentinels uses.
type SentinelTimes struct {
	// DownAfter: a master silent this long is subjectively down.
	DownAfter time.Duration
	// FailoverTimeout bounds a failover attempt (and spaces retries).
	FailoverTimeout time.Duration
}

// FastSentinel keeps a failover test short: the master is judged down
// after a second and a failover is retried after five.
var FastSentinel = SentinelTimes{DownAfter: time.Second, FailoverTimeout: 5 * time.Second}

// StartSentinels starts n Sentinels monitoring master with a majority
// quorum and waits until each knows the master, its replicas (replicas
// given) and the other Sentinels, so a failover can start as soon as the
// master dies.
func StartSentinels(t testing.TB, n int, times SentinelTimes, master *Server, replicas ...*Server) []*Server {
	t.Helper()
	quorum := n/2 + 1
	var out []*Server
	for range n {
		out = append(out, startSentinel(t, master, quorum, times))
	}
	for _, s := range out {
		waitFor(t, 20*time.Second, "each sentinel to know the replicas and the other sentinels", func() bool {
			reps, err := s.Do("SENTINEL", "replicas", SentinelMasterSet)
			if err != nil {
				return false
			}
			for _, r := range replicas {
				if !hasField(reps, "port", strconv.Itoa(r.port)) {
					return false
				}
			}
			others, err := s.Do("SENTINEL", "sentinels", SentinelMasterSet)
			return err == nil && countFields(others, "name") >= n-1
		})
	}
	return out
}

// hasField reports whether a flattened reply of field/value pairs holds
// name with value.
func hasField(reply, name, value string) bool {
	parts := strings.Split(reply, "\n")
	for i := 0; i+1 < len(parts); i += 2 {
		if parts[i] == name && parts[i+1] == value {
			return true
		}
	}
	return false
}

// countFields counts the fields called name in a flattened reply of
// field/value pairs.
func countFields(reply, name string) int {
	n := 0
	parts := strings.Split(reply, "\n")
	for i := 0; i+1 < len(parts); i += 2 {
		if parts[i] == name {
			n++
		}
	}
	return n
}

// WaitForMaster waits until sentinel reports want as the master's address.
func WaitForMaster(t testing.TB, sentinel *Server, want *Server, timeout time.Duration) {
	t.Helper()
	addr := "127.0.0.1\n" + strconv.Itoa(want.port)
	waitForOr(t, timeout, "sentinel to report "+want.Addr()+" as the master", sentinel.log, func() bool {
		got, err := sentinel.Do("SENTINEL", "get-master-addr-by-name", SentinelMasterSet)
		if err != nil || strings.TrimSpace(got) != addr {
			return false
		}
		role, err := want.Do("ROLE")
		return err == nil && strings.HasPrefix(role, "master")
	})
}

func waitFor(t testing.TB, timeout time.Duration, what string, ok func() bool) {
	t.Helper()
	waitForOr(t, timeout, what, func() string { return "" }, ok)
}

// waitForOr is waitFor that shows log() when it gives up.
func waitForOr(t testing.TB, timeout time.Duration, what string, log func() string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("redistest: waited %v for %s\n%s", timeout, what, log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
