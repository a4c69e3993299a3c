package redis_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/internal/redistest"
	"github.com/papercast/papercast/paper"
	"github.com/papercast/papercast/repository/redis"
	"github.com/papercast/papercast/usecase"
)

// TestSessionOpsApplyInOrderWhenOneTimesOut reproduces the overload of
// issue 9: an op whose call timed out was still stored later, after the
// same session's next op, so the older text overwrote the newer. rueidis
// spreads commands over several connections per Redis; a proxy in front of
// Redis stands in for a long queue on one of them. Each round: hold every
// connection, send op a (its call times out while it sits on one
// connection), let the other connections go, send op b (it usually takes
// another connection and is stored at once), then let a go too. Whatever
// happens, the session's ops must be stored in the order sent: a, if
// stored at all, before b.
func TestSessionOpsApplyInOrderWhenOneTimesOut(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		// rueidis opens log2(GOMAXPROCS) connections per Redis (at most 4):
		// with one there is no other connection to overtake on.
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	}
	srv := redistest.Start(t)
	px := newHoldProxy(t, srv.Addr())
	s := newStore(t, redis.Options{Addrs: []string{px.addr()}})
	p := newPaper(t, s)
	// No presence heartbeat: every EVALSHA Redis runs below is an op.
	hub := usecase.NewHub(s, s, s, paper.DefaultLimits(), usecase.HubOptions{PresenceHeartbeat: time.Hour}, nil, testLogger(t))
	t.Cleanup(hub.Close)
	m, err := hub.Join(t.Context(), usecase.JoinRequest{PaperID: p.ID, User: "u", Name: "U"}, nopSink{})
	if err != nil {
		t.Fatalf("Join: %v", err)
	}
	t.Cleanup(m.Leave)

	text := func(v string) domain.Op {
		return domain.Op{Kind: domain.OpUpsert, ID: "n1", Fields: map[string]json.RawMessage{"text": json.RawMessage(strconv.Quote(v))}}
	}
	if _, err := m.Edit(t.Context(), text("start")); err != nil { // loads the script
		t.Fatalf("Edit: %v", err)
	}
	scripts := evalshaCalls(t, srv)

	const rounds = 16
	overtaken := 0 // rounds in which b was stored while a was held
	for i := range rounds {
		px.hold()
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		_, err := m.Edit(ctx, text(fmt.Sprintf("a%d", i)))
		cancel()
		if !errors.Is(err, domain.ErrUnavailable) {
			t.Fatalf("round %d: op a while Redis cannot see it: %v, want ErrUnavailable", i, err)
		}
		px.keepHeld()
		done := make(chan error, 1)
		go func() {
			_, err := m.Edit(t.Context(), text(fmt.Sprintf("b%d", i)))
			done <- err
		}()
		var errB error
		select {
		case errB = <-done:
			overtaken++
			px.releaseAll()
		case <-time.After(500 * time.Millisecond):
			// b is queued behind a on the same connection.
			px.releaseAll()
			errB = <-done
		}
		if errB != nil {
			t.Fatalf("round %d: op b: %v", i, errB)
		}
		// Wait until Redis has run op a too (stored or refused).
		scripts += 2
		eventually(t, 5*time.Second, "Redis runs every op sent", func() bool { return evalshaCalls(t, srv) >= scripts })
	}
	if overtaken == 0 {
		t.Fatalf("op b never overtook op a in %d rounds: the test did not set up the race", rounds)
	}

	// The texts stored, in seq order, must be in the order sent.
	frames, _, err := s.History(t.Context(), p.ID, p.Epoch, 0)
	if err != nil {
		t.Fatalf("History: %v", err)
	}
	sent := map[string]int{"start": 0}
	for i := range rounds {
		sent[fmt.Sprintf("a%d", i)] = 2*i + 1
		sent[fmt.Sprintf("b%d", i)] = 2*i + 2
	}
	var stored []string
	last := -1
	var late []string
	for _, ev := range frames {
		var f struct {
			Fields struct{ Text string } `json:"fields"`
		}
		if err := json.Unmarshal(ev.Frame, &f); err != nil {
			t.Fatalf("frame %s: %v", ev.Frame, err)
		}
		stored = append(stored, f.Fields.Text)
		if n := sent[f.Fields.Text]; n < last {
			late = append(late, f.Fields.Text)
		} else {
			last = n
		}
	}
	t.Logf("%d of %d rounds overtaken; stored in this order: %s", overtaken, rounds, strings.Join(stored, " "))
	if len(late) > 0 {
		t.Fatalf("ops stored after a later op of their session: %s", strings.Join(late, " "))
	}
	doc, err := s.Snapshot(t.Context(), p.ID)
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	if got, want := string(doc.Elements[0].Fields["text"]), strconv.Quote(fmt.Sprintf("b%d", rounds-1)); got != want {
		t.Fatalf("the note reads %s, want the last text sent, %s", got, want)
	}
}

// nopSink is a session that discards what it is sent.
type nopSink struct{}

func (nopSink) Start([][]byte) error     { return nil }
func (nopSink) Send([]byte)              {}
func (nopSink) Close(domain.CloseReason) {}

// evalshaCalls is how many EVALSHA commands Redis has run.
func evalshaCalls(t testing.TB, srv *redistest.Server) int64 {
	calls, _ := evalshaStats(t, srv)
	return calls
}

// evalshaStats are Redis's counters of EVALSHA commands: how many ran and
// the microseconds Redis spent running them.
func evalshaStats(t testing.TB, srv *redistest.Server) (calls, usec int64) {
	t.Helper()
	info, err := srv.Do("INFO", "commandstats")
	if err != nil {
		t.Fatalf("INFO commandstats: %v", err)
	}
	for line := range strings.SplitSeq(info, "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "cmdstat_evalsha:")
		if !ok {
			continue
		}
		for kv := range strings.SplitSeq(rest, ",") {
			k, v, _ := strings.Cut(kv, "=")
			n, err := strconv.ParseInt(v, 10, 64)
			switch {
			case k != "calls" && k != "usec":
			case err != nil:
				t.Fatalf("INFO commandstats: %q", line)
			case k == "calls":
				calls = n
			default:
				usec = n
			}
		}
	}
	return calls, usec
}

// holdProxy is a TCP proxy in front of Redis that can hold what clients
// send, connection by connection: a stand-in for a long queue on one of
// rueidis's connections. Replies are never held.
type holdProxy struct {
	t        *testing.T
	ln       net.Listener
	upstream string

	mu      sync.Mutex
	changed *sync.Cond
	holdAll bool                // hold what any connection sends next
	held    map[*proxyConn]bool // connections holding bytes until releaseAll
	conns   []*proxyConn
	wg      sync.WaitGroup
}

type proxyConn struct{ client, server net.Conn }

func newHoldProxy(t *testing.T, upstream string) *holdProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &holdProxy{t: t, ln: ln, upstream: upstream, held: map[*proxyConn]bool{}}
	p.changed = sync.NewCond(&p.mu)
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *holdProxy) addr() string { return p.ln.Addr().String() }

func (p *holdProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.upstream)
		if err != nil {
			c.Close()
			continue
		}
		pc := &proxyConn{client: c, server: s}
		p.mu.Lock()
		p.conns = append(p.conns, pc)
		p.mu.Unlock()
		p.wg.Add(2)
		go p.forward(pc)
		go func() {
			defer p.wg.Done()
			_, _ = io.Copy(c, s)
			c.Close()
		}()
	}
}

// forward copies client to server, waiting while the connection is held.
func (p *holdProxy) forward(pc *proxyConn) {
	defer p.wg.Done()
	defer pc.server.Close()
	buf := make([]byte, 64<<10)
	for {
		n, err := pc.client.Read(buf)
		if n > 0 {
			p.mu.Lock()
			for p.holdAll || p.held[pc] {
				p.held[pc] = true
				p.changed.Wait()
			}
			p.mu.Unlock()
			if _, err := pc.server.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// hold holds whatever any connection sends from now on.
func (p *holdProxy) hold() {
	p.mu.Lock()
	p.holdAll = true
	p.mu.Unlock()
}

// keepHeld lets every connection go except those already holding bytes.
func (p *holdProxy) keepHeld() {
	p.mu.Lock()
	p.holdAll = false
	p.changed.Broadcast()
	p.mu.Unlock()
}

// releaseAll lets every connection go.
func (p *holdProxy) releaseAll() {
	p.mu.Lock()
	p.holdAll = false
	clear(p.held)
	p.changed.Broadcast()
	p.mu.Unlock()
}

func (p *holdProxy) close() {
	p.releaseAll()
	p.ln.Close()
	p.mu.Lock()
	for _, pc := range p.conns {
		pc.client.Close()
		pc.server.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
