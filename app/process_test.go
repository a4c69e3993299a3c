package app_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/papercast/papercast/internal/redistest"
	"github.com/papercast/papercast/internal/wstest"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// papercastBinary builds cmd/papercast once per test run.
func papercastBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "papercast-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "papercast")
		out, err := exec.Command("go", "build", "-race", "-o", binPath, "../cmd/papercast").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// proc is a papercast replica running as its own process.
type proc struct {
	t    *testing.T
	cmd  *exec.Cmd
	url  string
	done chan error
	mu   sync.Mutex
	logs strings.Builder
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func startProc(t *testing.T, env ...string) *proc {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(papercastBinary(t), "serve", "--config", "../config.yaml")
	cmd.Env = append(os.Environ(), append([]string{
		"PAPERCAST_SERVER_ADDR=" + addr,
		"PAPERCAST_LOG_LEVEL=info",
		"PAPERCAST_LIMITS_OPS_PER_SECOND=10000",
		"PAPERCAST_LIMITS_OPS_BURST=10000",
		// v1 clients: ?user= as is; one guest secret for all replicas.
		"PAPERCAST_AUTH_TRUST_QUERY_USER=true",
		"PAPERCAST_AUTH_GUEST_SECRET=" + testGuestSecret,
	}, env...)...)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, cmd: cmd, url: "http://" + addr, done: make(chan error, 1)}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.mu.Lock()
			p.logs.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
		}
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("replica %s logs:\n%s", p.url, p.log())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := http.Get(p.url + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica never became ready:\n%s", p.log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *proc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

func redisEnv(srv *redistest.Server) []string {
	return []string{"PAPERCAST_STORE=redis", "PAPERCAST_REDIS_ADDRS=" + srv.Addr(), "PAPERCAST_REDIS_MODE=standalone"}
}

func TestSIGTERMClosesSessionsWith1001AndExitsZero(t *testing.T) {
	srv := redistest.Start(t)
	p := startProc(t, append(redisEnv(srv), "PAPERCAST_SERVER_SHUTDOWN_TIMEOUT=5s")...)
	paper := wstest.CreatePaper(t, p.url)
	c := wstest.MustDial(t, p.url, paper.ID, nil)
	c.Next(wstest.OfType("snapshot"))
	for i := 0; i < 20; i++ {
		c.Send(wstest.Upsert(fmt.Sprint(i), "n1", map[string]any{"i": i}))
	}
	for i := 0; i < 20; i++ {
		c.Next(wstest.OfType("ack"))
	}
	if ch, _ := srv.Do("PUBSUB", "CHANNELS", "*"); strings.TrimSpace(ch) == "" {
		t.Fatal("replica is not subscribed while a session is open")
	}
	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := c.WaitClosed(); code != 1001 {
		t.Fatalf("close code %d, want 1001", code)
	}
	select {
	case err := <-p.done:
		p.done <- err
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, p.log())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("still running 10 s after SIGTERM")
	}
	t.Logf("stopped in %s", time.Since(start))
	if ch, _ := srv.Do("PUBSUB", "CHANNELS", "*"); strings.TrimSpace(ch) != "" {
		t.Fatalf("subscription left after shutdown: %q", ch)
	}
	if doc := wstest.GetDocument(t, startProc(t, redisEnv(srv)...).url, paper.ID); doc.Seq != 20 {
		t.Fatalf("acked ops lost: seq %d", doc.Seq)
	}
}

// TestKilledReplicaClientsResumeElsewhere kills one of three replicas with
// SIGKILL during steady edits: its clients resume on the others and end with
// the same document, and its presence entries expire.
func TestKilledReplicaClientsResumeElsewhere(t *testing.T) {
	srv := redistest.Start(t)
	env := append(redisEnv(srv), "PAPERCAST_PRESENCE_TTL=2s", "PAPERCAST_PRESENCE_HEARTBEAT=300ms")
	procs := []*proc{startProc(t, env...), startProc(t, env...), startProc(t, env...)}
	paper := wstest.CreateOpenPaper(t, procs[0].url) // clients edit each other's notes
	type cl struct {
		c *wstest.Client
		v *wstest.Viewer
		r int
	}
	var clients []*cl
	for i := 0; i < 6; i++ {
		c := wstest.MustDial(t, procs[i%3].url, paper.ID, wstest.Q("user", fmt.Sprint("u", i)))
		x := &cl{c: c, v: wstest.NewViewer(), r: i % 3}
		x.v.Apply(c.Next(nil))
		clients = append(clients, x)
	}
	edit := func(x *cl, ref string) {
		x.c.Send(wstest.Upsert(ref, "n"+ref[len(ref)-1:], map[string]any{"ref": ref}))
		for {
			f, err := x.c.NextErr(nil, 10*time.Second)
			if err != nil {
				t.Fatalf("%s: %v", ref, err)
			}
			x.v.Apply(f)
			if f.Ref == ref && (f.Type == "ack" || f.Type == "error") {
				if f.Type == "error" {
					t.Fatalf("%s refused: %s", ref, f.Raw)
				}
				return
			}
		}
	}
	for round := 0; round < 10; round++ {
		for i, x := range clients {
			if round == 5 && i == 0 {
				if err := procs[2].cmd.Process.Kill(); err != nil {
					t.Fatal(err)
				}
			}
			if x.r == 2 && round >= 5 {
				if x.c.CloseCode() == 0 && round == 5 {
					x.c.WaitClosed()
				}
				if x.c.CloseCode() != 0 {
					for _, f := range x.c.Drain() {
						x.v.Apply(f)
					}
					x.r = 0
					x.c = wstest.MustDial(t, procs[0].url, paper.ID, wstest.Q("since", fmt.Sprint(x.v.Seq), "epoch", x.v.Epoch))
					first := x.c.Next(nil)
					if first.Type != "resumed" {
						t.Fatalf("rejoin gave %s, want resumed", first.Type)
					}
					x.v.Apply(first)
				}
			}
			edit(x, fmt.Sprintf("r%dc%d", round, i))
		}
	}
	doc := wstest.GetDocument(t, procs[1].url, paper.ID)
	if !reflect.DeepEqual(doc, wstest.GetDocument(t, procs[0].url, paper.ID)) {
		t.Fatal("replicas disagree")
	}
	for i, x := range clients {
		for x.v.Seq < doc.Seq {
			x.v.Apply(x.c.Next(nil))
		}
		if len(x.v.Errors) > 0 || !reflect.DeepEqual(x.v.Els, wstest.Elements(doc.Elements)) {
			t.Fatalf("client %d: errors %v, view equal %v", i, x.v.Errors, reflect.DeepEqual(x.v.Els, wstest.Elements(doc.Elements)))
		}
	}
	// The dead replica's sessions vanish from presence within TTL + heartbeat.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c := wstest.MustDial(t, procs[1].url, paper.ID, nil)
		snap := c.Next(nil)
		c.Conn.Close()
		if len(snap.Presence) == len(clients)+1 { // everyone now on live replicas, plus this probe
			break
		}
		if time.Now().After(deadline) {
			var who []string
			for _, p := range snap.Presence {
				var s string
				_ = json.Unmarshal(p["user"], &s)
				who = append(who, s)
			}
			t.Fatalf("presence still lists %d entries (%v), want %d", len(snap.Presence), who, len(clients)+1)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
