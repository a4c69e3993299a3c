package redistest

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestStartAnswersPingOnLoopbackWithItsOwnDir(t *testing.T) {
	t.Parallel()
	s := Start(t)
	if !strings.HasPrefix(s.Addr(), "127.0.0.1:") || s.Addr() == "127.0.0.1:6379" {
		t.Fatalf("Addr = %s, want a free loopback port other than 6379", s.Addr())
	}
	if got, err := s.Do("PING"); err != nil || got != "PONG" {
		t.Fatalf("PING = %q, %v", got, err)
	}
	dir, err := s.Do("CONFIG", "GET", "dir")
	if err != nil || !strings.HasSuffix(dir, s.Dir()) {
		t.Fatalf("CONFIG GET dir = %q, %v; want %s", dir, err, s.Dir())
	}
	if got, _ := s.Do("CONFIG", "GET", "appendonly"); got != "appendonly\nno" {
		t.Fatalf("appendonly = %q, want no by default", got)
	}
	if _, err := s.Do("NOSUCHCOMMAND"); err == nil {
		t.Fatal("an unknown command gave no error")
	}
}

func TestKillLosesDataWithoutAOF(t *testing.T) {
	t.Parallel()
	s := Start(t)
	mustDo(t, s, "SET", "k", "v")
	s.Kill()
	if _, err := s.Do("PING"); err == nil {
		t.Fatal("PING answered after Kill")
	}
	s.Restart()
	if got, _ := s.Do("EXISTS", "k"); got != "0" {
		t.Fatalf("EXISTS k = %q after kill -9 without AOF, want 0", got)
	}
}

func TestRestartKeepsPortAndAOFKeepsAcknowledgedWrites(t *testing.T) {
	t.Parallel()
	s := Start(t, WithAOF())
	addr := s.Addr()
	if got, _ := s.Do("CONFIG", "GET", "appendfsync"); got != "appendfsync\nalways" {
		t.Fatalf("appendfsync = %q, want always", got)
	}
	for i := range 50 {
		mustDo(t, s, "RPUSH", "list", fmt.Sprint(i))
	}
	s.Kill()
	s.Restart()
	if s.Addr() != addr {
		t.Fatalf("restarted on %s, want %s", s.Addr(), addr)
	}
	if got := mustDo(t, s, "LLEN", "list"); got != "50" {
		t.Fatalf("LLEN = %s after kill -9 and restart, want 50", got)
	}
}

func TestStopThenRestart(t *testing.T) {
	t.Parallel()
	s := Start(t)
	s.Stop()
	if _, err := s.Do("PING"); err == nil {
		t.Fatal("PING answered after Stop")
	}
	s.Restart()
	mustDo(t, s, "PING")
}

func TestPauseFreezesAndResumeThaws(t *testing.T) {
	t.Parallel()
	s := Start(t)
	s.Pause()
	start := time.Now()
	if _, err := s.Do("PING"); err == nil {
		t.Fatal("a paused server answered")
	}
	if time.Since(start) < time.Second {
		t.Fatal("a paused server failed fast; want a hang until the deadline")
	}
	s.Resume()
	mustDo(t, s, "PING")
}

func TestStartClusterServesAllSlots(t *testing.T) {
	t.Parallel()
	c := StartCluster(t)
	if len(c.Addrs()) != 3 {
		t.Fatalf("Addrs = %v", c.Addrs())
	}
	for _, n := range c.Nodes {
		info := mustDo(t, n, "CLUSTER", "INFO")
		for _, want := range []string{"cluster_state:ok", "cluster_slots_assigned:16384", "cluster_size:3"} {
			if !strings.Contains(info, want) {
				t.Fatalf("%s CLUSTER INFO lacks %s:\n%s", n.Addr(), want, info)
			}
		}
	}
	// A key lives on exactly one master; the others redirect.
	var owners int
	for _, n := range c.Nodes {
		if _, err := n.Do("SET", "{paper}:k", "v"); err == nil {
			owners++
		} else if !strings.HasPrefix(err.Error(), "MOVED") {
			t.Fatalf("SET on %s: %v", n.Addr(), err)
		}
	}
	if owners != 1 {
		t.Fatalf("%d nodes accepted the key, want 1", owners)
	}
}

// fatalRecorder stands in for a testing.TB to observe Fatalf.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (f *fatalRecorder) Helper() {}
func (f *fatalRecorder) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestMissingBinaryFailsWithTheInstallHint(t *testing.T) {
	empty := t.TempDir()
	t.Setenv("PATH", empty)
	if err := os.WriteFile(filepath.Join(empty, "README"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	rec := &fatalRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Start(rec)
	}()
	<-done
	if !strings.Contains(rec.msg, InstallHint) || !strings.Contains(rec.msg, "redis-server") {
		t.Fatalf("Start without redis-server on PATH: Fatalf(%q), want the install hint", rec.msg)
	}
}

func mustDo(t *testing.T, s *Server, args ...string) string {
	t.Helper()
	got, err := s.Do(args...)
	if err != nil {
		t.Fatalf("%v on %s: %v", args, s.Addr(), err)
	}
	return got
}

func TestStartSentinelMonitorsTheMaster(t *testing.T) {
	t.Parallel()
	m := Start(t)
	s := StartSentinel(t, m)
	got := mustDo(t, s, "SENTINEL", "get-master-addr-by-name", SentinelMasterSet)
	if got != strings.Replace(m.Addr(), ":", "\n", 1) {
		t.Fatalf("sentinel reports %q, want %s", got, m.Addr())
	}
}

func TestSentinelsPromoteTheReplicaWhenTheMasterDies(t *testing.T) {
	master := Start(t)
	replica := StartReplica(t, master)
	sentinels := StartSentinels(t, 3, FastSentinel, master, replica)
	mustDo(t, master, "SET", "k", "v")
	waitFor(t, 5*time.Second, "the replica to have k", func() bool {
		got, err := replica.Do("GET", "k")
		return err == nil && got == "v"
	})
	thaw := CutReplication(t, master, replica)
	mustDo(t, master, "SET", "lost", "v")
	master.Kill()
	thaw()
	WaitForMaster(t, sentinels[0], replica, 30*time.Second)
	if got := mustDo(t, replica, "GET", "k"); got != "v" {
		t.Fatalf("promoted replica: GET k = %q, want v", got)
	}
	if got, err := replica.Do("EXISTS", "lost"); err != nil || got != "0" {
		t.Fatalf("promoted replica: EXISTS lost = %q, %v; want 0 (written after the cut)", got, err)
	}
}
