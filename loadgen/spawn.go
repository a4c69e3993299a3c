package loadgen

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// redisInstallHint ends the error when redis-server is missing.
const redisInstallHint = "install it: apt-get install -y redis-server"

// child is one process loadgen started and must stop.
type child struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{} // closed when the process has exited
	err     error         // Wait's result, read after done
}

func startChild(name string, cmd *exec.Cmd, logPath string) (*child, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("%s log: %w", name, err)
	}
	// An *os.File output needs no copying goroutine.
	cmd.Stdout, cmd.Stderr = f, f
	err = cmd.Start()
	f.Close() // the child has its own descriptor
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

func (c *child) pid() int { return c.cmd.Process.Pid }

func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// stop asks politely (SIGTERM), then kills after grace.
func (c *child) stop(grace time.Duration) {
	if c.exited() {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-c.done:
	case <-t.C:
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// logTail is the end of the child's log, for error messages.
func (c *child) logTail() string {
	b, err := os.ReadFile(c.logPath)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return strings.Join(lines, "\n")
}

func (c *child) exitError() error {
	return fmt.Errorf("%s exited early (%v); its log %s ends with:\n%s", c.name, c.err, c.logPath, c.logTail())
}

// cluster is a redis-server plus replicas that loadgen runs for one test.
type cluster struct {
	dir      string
	redis    *child
	replicas []*child
	targets  []string
	token    string
}

// spawnCluster starts redis (unless the store is memory) and the replicas,
// and returns once every replica answers /readyz. On error it has already
// stopped whatever it started.
func spawnCluster(ctx context.Context, cfg Config, log *slog.Logger) (_ *cluster, err error) {
	dir, err := os.MkdirTemp("", "papercast-loadgen-")
	if err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	tok := make([]byte, 16)
	_, _ = rand.Read(tok)
	cl := &cluster{dir: dir, token: hex.EncodeToString(tok)}
	defer func() {
		if err != nil {
			cl.stop(false)
		}
	}()
	var redisAddr string
	if cfg.Store == "redis" {
		redisAddr, err = cl.startRedis(ctx, cfg.RedisBin)
		if err != nil {
			return nil, err
		}
		log.Info("redis started", "addr", redisAddr, "pid", cl.redis.pid())
	}
	for i := range cfg.Spawn {
		if err := cl.startReplica(ctx, cfg, i, redisAddr); err != nil {
			return nil, err
		}
		log.Info("replica started", "url", cl.targets[i], "pid", cl.replicas[i].pid())
	}
	return cl, nil
}

// freePort is a loopback port nobody listens on right now. Another process
// can take it before the child binds it; callers retry.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (cl *cluster) startRedis(ctx context.Context, bin string) (string, error) {
	if bin == "" {
		bin = "redis-server"
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		return "", fmt.Errorf("%s not found (%w); %s", bin, err, redisInstallHint)
	}
	var lastErr error
	for attempt := range 5 {
		port, err := freePort()
		if err != nil {
			return "", err
		}
		cmd := exec.Command(path,
			"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", cl.dir,
			"--daemonize", "no", "--save", "", "--appendonly", "no",
		)
		c, err := startChild("redis-server", cmd, filepath.Join(cl.dir, fmt.Sprintf("redis-%d.log", attempt)))
		if err != nil {
			return "", err
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if lastErr = waitRedis(ctx, c, addr, 10*time.Second); lastErr == nil {
			cl.redis = c
			return addr, nil
		}
		c.stop(time.Second)
	}
	return "", fmt.Errorf("redis-server did not start: %w", lastErr)
}

// waitRedis waits until redis answers PING with PONG.
func waitRedis(ctx context.Context, c *child, addr string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		if c.exited() {
			return c.exitError()
		}
		if pingRedis(addr) == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redis at %s did not answer PING within %s", addr, limit)
		}
		if err := sleepCtx(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
}

func pingRedis(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("PING answered %q", strings.TrimSpace(line))
	}
	return nil
}

func (cl *cluster) startReplica(ctx context.Context, cfg Config, i int, redisAddr string) error {
	var lastErr error
	for attempt := range 3 {
		port, err := freePort()
		if err != nil {
			return err
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		cmd := exec.Command(cfg.Bin, "serve")
		// The replica runs in the temp dir so a config.yaml in the caller's
		// directory cannot change what is measured; the environment decides.
		cmd.Dir = cl.dir
		cmd.Env = append(os.Environ(),
			"PAPERCAST_STORE="+cfg.Store,
			"PAPERCAST_SERVER_ADDR="+addr,
			"PAPERCAST_LOG_LEVEL=warn",
			"PAPERCAST_LIMITS_MAX_CONNECTIONS=100000",
			"PAPERCAST_LIMITS_MAX_SESSIONS_PER_PAPER=100000",
			// One address creates every paper of the run.
			"PAPERCAST_LIMITS_CREATES_PER_MINUTE=1000000",
			"PAPERCAST_LIMITS_CREATES_BURST=100000",
			"PAPERCAST_ADMIN_TOKEN="+cl.token,
			// Identity stays as deployed (auth.trust_query_user off, a guest
			// secret per replica): sessions never reconnect, so who they are
			// does not matter, and each join pays for its token as in production.
		)
		if redisAddr != "" {
			cmd.Env = append(cmd.Env, "PAPERCAST_REDIS_ADDRS="+redisAddr)
		}
		cmd.Env = append(cmd.Env, cfg.ReplicaEnv...) // later entries win
		name := fmt.Sprintf("replica %d", i)
		c, err := startChild(name, cmd, filepath.Join(cl.dir, fmt.Sprintf("replica-%d-%d.log", i, attempt)))
		if err != nil {
			return err
		}
		url := "http://" + addr
		if lastErr = waitReady(ctx, c, url, 30*time.Second); lastErr == nil {
			cl.replicas = append(cl.replicas, c)
			cl.targets = append(cl.targets, url)
			return nil
		}
		c.stop(2 * time.Second)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return fmt.Errorf("replica %d did not become ready: %w", i, lastErr)
}

// waitReady polls GET /readyz until it answers 200.
func waitReady(ctx context.Context, c *child, base string, limit time.Duration) error {
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.Now().Add(limit)
	last := errors.New("not asked yet")
	for {
		if c.exited() {
			return c.exitError()
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Errorf("/readyz answered %d", resp.StatusCode)
		} else {
			last = err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready within %s (%v); log %s:\n%s", base, limit, last, c.logPath, c.logTail())
		}
		if err := sleepCtx(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
}

// replicaDied reports the first replica (or redis) that exited on its own.
func (cl *cluster) replicaDied() error {
	for _, c := range cl.replicas {
		if c.exited() {
			return c.exitError()
		}
	}
	if cl.redis != nil && cl.redis.exited() {
		return cl.redis.exitError()
	}
	return nil
}

// stop ends the replicas first (they shut down their sessions and their
// Redis connections), then Redis, and removes the temp dir unless keepLogs.
func (cl *cluster) stop(keepLogs bool) {
	done := make(chan struct{})
	for _, c := range cl.replicas {
		go func() {
			c.stop(10 * time.Second)
			done <- struct{}{}
		}()
	}
	for range cl.replicas {
		<-done
	}
	if cl.redis != nil {
		cl.redis.stop(5 * time.Second)
	}
	if !keepLogs {
		_ = os.RemoveAll(cl.dir)
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
