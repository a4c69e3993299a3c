// Package redistest starts throwaway redis-server processes for tests: one
// server or a three-master cluster, each on free loopback ports with a
// t.TempDir() working directory, killed when the test ends. It never touches
// a Redis the developer runs (port 6379 or any other).
//
// A missing redis-server or redis-cli binary fails the test with the install
// hint: integration tests that silently skip prove nothing.
package redistest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// InstallHint is part of the failure message when a Redis binary is missing.
const InstallHint = "install it: apt-get install -y redis-server"

// startTimeout bounds how long a server may take to answer PING.
const startTimeout = 15 * time.Second

type config struct {
	aof     bool
	cluster bool
	args    []string
}

// Option changes how Start launches the server.
type Option func(*config)

// WithAOF turns on the append-only file with fsync on every write
// (`--appendonly yes --appendfsync always`): whatever Redis acknowledged
// survives a kill -9.
func WithAOF() Option { return func(c *config) { c.aof = true } }

// WithArgs appends raw redis-server arguments, e.g. "--maxmemory", "10mb".
func WithArgs(args ...string) Option {
	return func(c *config) { c.args = append(c.args, args...) }
}

func withCluster() Option { return func(c *config) { c.cluster = true } }

// Server is one redis-server process owned by a test.
type Server struct {
	t    testing.TB
	bin  string
	dir  string
	port int
	args []string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// Start launches redis-server on a free 127.0.0.1 port and waits until it
// answers PING. It is killed at the end of the test.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	bin := lookPath(t, "redis-server")
	var c config
	for _, o := range opts {
		o(&c)
	}
	s := &Server{t: t, bin: bin, dir: t.TempDir()}
	t.Cleanup(s.cleanup)
	// A free port can be taken between probing it and redis binding it:
	// try a few.
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		s.port = freePort(t, c.cluster)
		s.args = serverArgs(s.port, s.dir, c)
		if err = s.start(); err == nil {
			return s
		}
	}
	t.Fatalf("redistest: redis-server did not start: %v", err)
	return nil
}

func serverArgs(port int, dir string, c config) []string {
	args := []string{
		"--port", strconv.Itoa(port),
		"--bind", "127.0.0.1",
		"--dir", dir,
		"--daemonize", "no",
		"--save", "",
		"--logfile", filepath.Join(dir, "redis.log"),
	}
	if c.aof {
		args = append(args, "--appendonly", "yes", "--appendfsync", "always")
	} else {
		args = append(args, "--appendonly", "no")
	}
	if c.cluster {
		args = append(args,
			"--cluster-enabled", "yes",
			"--cluster-config-file", filepath.Join(dir, "nodes.conf"),
			"--cluster-node-timeout", "2000",
		)
	}
	return append(args, c.args...)
}

func lookPath(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("redistest: %s is not on PATH (%v); %s", name, err, InstallHint)
	}
	return p
}

// freePort returns a loopback port nobody listens on. For cluster nodes the
// cluster bus port (port+10000) must be free too.
func freePort(t testing.TB, cluster bool) int {
	t.Helper()
	for attempt := 0; attempt < 50; attempt++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("redistest: no free port: %v", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		if !cluster {
			l.Close()
			return port
		}
		if port+10000 > 65535 {
			l.Close()
			continue
		}
		bus, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port+10000))
		l.Close()
		if err != nil {
			continue
		}
		bus.Close()
		return port
	}
	t.Fatalf("redistest: no free port pair for a cluster node")
	return 0
}

// start launches the process with s.args and waits for PING.
func (s *Server) start() error {
	cmd := exec.Command(s.bin, s.args...)
	cmd.Dir = s.dir
	cmd.Stdout = io.Discard
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()

	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-done:
			return fmt.Errorf("redis-server exited at start; log:\n%s", s.log())
		default:
		}
		reply, err := s.Do("PING")
		if err == nil && reply == "PONG" {
			return nil
		}
		if time.Now().After(deadline) {
			s.signal(syscall.SIGKILL)
			return fmt.Errorf("redis-server on %s did not answer PING within %v (last: %q, %v); log:\n%s", s.Addr(), startTimeout, reply, err, s.log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *Server) log() string {
	b, err := os.ReadFile(filepath.Join(s.dir, "redis.log"))
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// signal sends sig to a running server and waits for it to exit.
func (s *Server) signal(sig syscall.Signal) {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

func (s *Server) cleanup() { s.signal(syscall.SIGKILL) }

// Addr is the server's "127.0.0.1:port".
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// Dir is the server's working directory (AOF, nodes.conf, redis.log).
func (s *Server) Dir() string { return s.dir }

// Kill stops the server with SIGKILL, as a crash would: no shutdown save, no
// goodbye to clients.
func (s *Server) Kill() { s.signal(syscall.SIGKILL) }

// Pause freezes the server (SIGSTOP): connections stay open but nothing
// answers, as with a hung Redis or a silent network partition.
func (s *Server) Pause() { s.send(syscall.SIGSTOP) }

// Resume thaws a paused server (SIGCONT).
func (s *Server) Resume() { s.send(syscall.SIGCONT) }

func (s *Server) send(sig syscall.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		_ = s.cmd.Process.Signal(sig)
	}
}

// Stop shuts the server down cleanly (SIGTERM).
func (s *Server) Stop() { s.signal(syscall.SIGTERM) }

// Restart starts the server again on the same port and directory (stopping
// it first if it runs) and waits until it answers PING. With WithAOF the
// data written before is loaded back.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	var err error
	// The old socket may linger for a moment after the process died.
	for attempt := 0; attempt < 20; attempt++ {
		if err = s.start(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("redistest: restart %s: %v", s.Addr(), err)
}

// Do sends one command on a fresh connection and returns the reply flattened
// to text: simple and bulk strings as is, integers in decimal, arrays as
// their elements joined by "\n". A Redis error reply is returned as an error.
// It is meant for test plumbing (PING, CLUSTER INFO, PUBSUB CHANNELS).
func (s *Server) Do(args ...string) (string, error) {
	return do(s.Addr(), args...)
}

func do(addr string, args ...string) (string, error) {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := io.WriteString(conn, b.String()); err != nil {
		return "", err
	}
	r := bufio.NewReader(conn)
	parts, err := readReply(r)
	if err != nil {
		return "", err
	}
	return strings.Join(parts, "\n"), nil
}

// readReply reads one RESP2 reply as a flat list of strings.
func readReply(r *bufio.Reader) ([]string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return nil, errors.New("empty reply line")
	}
	switch line[0] {
	case '+', ':':
		return []string{line[1:]}, nil
	case '-':
		return nil, errors.New(line[1:])
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil {
			return nil, err
		}
		if n < 0 {
			return nil, nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		return []string{string(buf[:n])}, nil
	case '*':
		n, err := strconv.Atoi(line[1:])
		if err != nil {
			return nil, err
		}
		var out []string
		for i := 0; i < n; i++ {
			el, err := readReply(r)
			if err != nil {
				return nil, err
			}
			out = append(out, el...)
		}
		return out, nil
	}
	return nil, fmt.Errorf("unexpected reply %q", line)
}
