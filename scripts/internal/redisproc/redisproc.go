// Package redisproc starts a throwaway redis-server for the measuring
// scripts (rediscost, redismem): a free loopback port, nothing saved, a
// temporary directory, and a rueidis client once it answers. Tests use
// internal/redistest instead, which reports through testing.TB.
package redisproc

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"time"

	"github.com/redis/rueidis"
)

// Server is a running redis-server.
type Server struct {
	Cmd    *exec.Cmd
	Addr   string
	Dir    string         // its working directory, removed by Stop unless kept
	Client rueidis.Client // for INFO, MEMORY USAGE and the like
}

// Start runs redis-server in a new directory named for name, under the
// command wrap returns for that directory when wrap is not nil (valgrind
// and its flags, say: the server is then slow to answer, hence the long
// wait).
func Start(name string, wrap func(dir string) []string) (*Server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir, err := os.MkdirTemp("", name)
	if err != nil {
		return nil, err
	}
	var args []string
	if wrap != nil {
		args = wrap(dir)
	}
	args = append(args, "redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir)
	c := exec.Command(args[0], args[1:]...)
	if err := c.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s := &Server{Cmd: c, Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), Dir: dir}
	deadline := time.Now().Add(60 * time.Second)
	for {
		// NewClient dials and handshakes: it fails until the server answers.
		cl, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{s.Addr}, DisableCache: true, ConnWriteTimeout: 30 * time.Second})
		if err == nil {
			s.Client = cl
			return s, nil
		}
		if time.Now().After(deadline) {
			s.Stop(false)
			return nil, fmt.Errorf("redis-server did not answer: %w", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop kills the server and removes its directory unless keepDir.
func (s *Server) Stop(keepDir bool) {
	if s.Client != nil {
		s.Client.Close()
	}
	_ = s.Cmd.Process.Kill()
	_ = s.Cmd.Wait()
	if !keepDir {
		_ = os.RemoveAll(s.Dir)
	}
}
