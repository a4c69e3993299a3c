package ws_test

import (
	"bytes"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/papercast/papercast/delivery/ws"
	"github.com/papercast/papercast/protocol"
)

// wireConn is a session's raw connection under the cork: it counts the
// writes that reach the socket (one write(2) each) and can hold them, so a
// test can make frames queue up behind one being written.
type wireConn struct {
	net.Conn
	mu     sync.Mutex
	writes int
	hold   chan struct{}
	closed chan struct{}
	once   sync.Once
}

func (c *wireConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.writes++
	hold := c.hold
	c.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-c.closed:
			return 0, net.ErrClosed
		}
	}
	return c.Conn.Write(p)
}

func (c *wireConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

func (c *wireConn) Writes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writes
}

// Hold makes the next writes wait until Release.
func (c *wireConn) Hold() {
	c.mu.Lock()
	c.hold = make(chan struct{})
	c.mu.Unlock()
}

func (c *wireConn) Release() {
	c.mu.Lock()
	close(c.hold)
	c.hold = nil
	c.mu.Unlock()
}

// wires records each session's wireConn in the order sessions connect.
type wires struct {
	mu    sync.Mutex
	conns []*wireConn
}

func (w *wires) wrap(c net.Conn) net.Conn {
	wc := &wireConn{Conn: c, closed: make(chan struct{})}
	w.mu.Lock()
	w.conns = append(w.conns, wc)
	w.mu.Unlock()
	return wc
}

func (w *wires) get(t *testing.T, i int) *wireConn {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	if i >= len(w.conns) {
		t.Fatalf("no connection %d (have %d)", i, len(w.conns))
	}
	return w.conns[i]
}

// waitOutbox waits until some session's outbox satisfies ok.
func waitOutbox(t *testing.T, h *ws.Handler, what string, ok func(ws.Outbox) bool) ws.Outbox {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, o := range ws.Outboxes(h) {
			if ok(o) {
				return o
			}
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("no outbox %s", what)
	return ws.Outbox{}
}

// seen waits until c has the presence join of the session whose snapshot
// is given: nothing else is on its way to c then.
func seen(c *client, snapshot frame) {
	c.Next(func(f frame) bool {
		return f.Type == "presence" && f.Event == protocol.PresenceJoin && f.Session == snapshot.You.Session
	})
}

// TestBurstToOneSessionLeavesInOneWrite: while one frame to a session is
// being written, a burst to it waits in its outbox; it then leaves in one
// write(2), in order: as separate frames for a v1 client, as one
// newline-separated frame for a batch=1 client.
func TestBurstToOneSessionLeavesInOneWrite(t *testing.T) {
	for _, tc := range []struct {
		name  string
		batch bool
	}{{"frames", false}, {"batch", true}} {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t, ws.Options{OpsPerSecond: 1e6, OpsBurst: 1e6})
			w := &wires{}
			ws.SetConnWrap(s.ws, w.wrap)
			p := s.create()
			var query = q()
			if tc.batch {
				query = q("batch", "1")
			}
			watcher := s.join(p.ID, query)
			first := watcher.Next(ofType("snapshot"))
			writer := s.join(p.ID, nil)
			seen(watcher, writer.Next(ofType("snapshot")))
			wire := w.get(t, 0)
			writesBefore, framesBefore := wire.Writes(), watcher.WireFrames()

			wire.Hold()
			const n = 50
			for i := 1; i <= n; i++ {
				writer.Send(upsert(fmt.Sprint(i), "n1", map[string]any{"a": i}))
			}
			for range n {
				writer.Next(ofType("ack"))
			}
			waitOutbox(t, s.ws, fmt.Sprintf("with %d frames waiting", n-1), func(o ws.Outbox) bool { return len(o.Pending) == n-1 })
			wire.Release()

			for i := 1; i <= n; i++ {
				op := watcher.Next(ofType("op"))
				if want := first.Seq + uint64(i); op.Seq != want || string(op.Fields["a"]) != fmt.Sprint(i) {
					t.Fatalf("op %d: seq %d a=%s, want seq %d", i, op.Seq, op.Fields["a"], want)
				}
			}
			if got := wire.Writes() - writesBefore; got != 2 {
				t.Errorf("%d ops left in %d writes, want 2 (the first, then the rest at once)", n, got)
			}
			wantFrames := n
			if tc.batch {
				wantFrames = 2
			}
			if got := watcher.WireFrames() - framesBefore; got != wantFrames {
				t.Errorf("%d ops came in %d WebSocket frames, want %d", n, got, wantFrames)
			}
		})
	}
}

// TestOutboxOverItsBoundsCloses4008: a session whose waiting frames pass
// ws.send_buffer_bytes (or ws.send_buffer frames) is closed with 4008 once
// the frame being written is through.
func TestOutboxOverItsBoundsCloses4008(t *testing.T) {
	value := strings.Repeat("x", 4000)
	for _, tc := range []struct {
		name string
		opts ws.Options
		// ops is how many ops go out before the bound is passed: the
		// first is in flight, then ops-1 wait.
		ops int
	}{
		// 12 KB frames: 5 waiting pass 48 KiB.
		{"bytes", ws.Options{SendBuffer: 1 << 20, SendBufferBytes: 48 << 10}, 6},
		{"frames", ws.Options{SendBuffer: 8, SendBufferBytes: 64 << 20}, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.OpsPerSecond, tc.opts.OpsBurst = 1e6, 1e6
			s := newServer(t, tc.opts)
			w := &wires{}
			ws.SetConnWrap(s.ws, w.wrap)
			p := s.create()
			watcher := s.join(p.ID, nil)
			watcher.Next(ofType("snapshot"))
			writer := s.join(p.ID, nil)
			seen(watcher, writer.Next(ofType("snapshot")))
			wire := w.get(t, 0)
			wire.Hold()
			for i := 1; i < tc.ops; i++ {
				writer.Send(upsert(fmt.Sprint(i), "n1", map[string]any{"a": value, "b": value, "c": value}))
				writer.Next(ofType("ack"))
			}
			waitOutbox(t, s.ws, fmt.Sprintf("with %d frames waiting", tc.ops-2), func(o ws.Outbox) bool { return len(o.Pending) == tc.ops-2 })
			for _, o := range ws.Outboxes(s.ws) {
				if o.Closed {
					t.Fatal("closed before its bound")
				}
			}
			writer.Send(upsert("last", "n1", map[string]any{"a": value, "b": value, "c": value}))
			writer.Next(ofType("ack"))
			waitOutbox(t, s.ws, "closed", func(o ws.Outbox) bool { return o.Closed })
			wire.Release()
			if code := watcher.WaitClosed(); code != protocol.DisconnectTooSlow.Code {
				t.Fatalf("close code %d, want 4008", code)
			}
		})
	}
}

// TestWaitingPresenceIsSuperseded: presence updates of one session that wait
// behind a frame being written are replaced by the newest; joins stay.
func TestWaitingPresenceIsSuperseded(t *testing.T) {
	s := newServer(t, ws.Options{OpsPerSecond: 1e6, OpsBurst: 1e6, PresencePerSecond: 1e6})
	w := &wires{}
	ws.SetConnWrap(s.ws, w.wrap)
	p := s.create()
	watcher := s.join(p.ID, nil)
	watcher.Next(ofType("snapshot"))
	mover := s.join(p.ID, nil)
	seen(watcher, mover.Next(ofType("snapshot")))
	wire := w.get(t, 0)
	wire.Hold()
	mover.Send(upsert("a1", "n1", map[string]any{"a": 1}))
	mover.Next(ofType("ack"))
	waitOutbox(t, s.ws, "with a frame being written", func(o ws.Outbox) bool { return o.InFlight && len(o.Pending) == 0 })
	const n = 20
	for i := 1; i <= n; i++ {
		mover.Send(map[string]any{"type": "presence", "state": map[string]any{"x": i}})
	}
	last := []byte(fmt.Sprintf(`{"x":%d}`, n))
	waitOutbox(t, s.ws, "holding the last presence", func(o ws.Outbox) bool {
		for _, f := range o.Pending {
			if bytes.Contains(f, last) {
				return true
			}
		}
		return false
	})
	mover.Send(upsert("a2", "n1", map[string]any{"a": 2}))
	mover.Next(ofType("ack"))
	o := waitOutbox(t, s.ws, "with the second op waiting", func(o ws.Outbox) bool {
		for _, f := range o.Pending {
			if kind, _, _ := protocol.EventHeader(f); kind == "op" {
				return true
			}
		}
		return false
	})
	var updates int
	for _, f := range o.Pending {
		if ev, _, ok := protocol.PresenceHeader(f); ok && ev == protocol.PresenceUpdate {
			updates++
		}
	}
	if updates != 1 {
		t.Errorf("%d presence updates wait, want 1 (the newest)", updates)
	}
	wire.Release()
	watcher.Next(ofType("op"))
	var got []frame
	for {
		f := watcher.Next(ofType("op", "presence"))
		if f.Type == "op" {
			break
		}
		if f.Event == protocol.PresenceUpdate {
			got = append(got, f)
		}
	}
	if len(got) != 1 || !bytes.Contains(got[0].Raw, last) {
		t.Fatalf("presence updates before the second op: %d, want 1 with state %s", len(got), last)
	}
}

// TestBatchParam: batch takes 1 or 0.
func TestBatchParam(t *testing.T) {
	s := newServer(t, ws.Options{})
	p := s.create()
	for _, v := range []string{"1", "0"} {
		c := s.join(p.ID, q("batch", v))
		if f := c.Next(ofType("snapshot", "error")); f.Type != "snapshot" {
			t.Fatalf("batch=%s: %s", v, f.Raw)
		}
	}
	_, res, err := dial(t, s.url, p.ID, q("batch", "yes"))
	if err == nil || res == nil || res.StatusCode != 400 {
		t.Fatalf("batch=yes: err %v, response %v", err, res)
	}
}

// TestAckLeavesWithOwnOp: a sender whose connection is busy gets its own op
// frame and the op's ack in one write once the frame ahead of them is out.
func TestAckLeavesWithOwnOp(t *testing.T) {
	s := newServer(t, ws.Options{OpsPerSecond: 1e6, OpsBurst: 1e6})
	w := &wires{}
	ws.SetConnWrap(s.ws, w.wrap)
	p := s.create()
	sender := s.join(p.ID, nil)
	sender.Next(ofType("snapshot"))
	other := s.join(p.ID, nil)
	seen(sender, other.Next(ofType("snapshot")))
	wire := w.get(t, 0)
	before := wire.Writes()
	wire.Hold()
	other.Send(upsert("o1", "n1", map[string]any{"a": 1}))
	other.Next(ofType("ack"))
	sender.Send(upsert("s1", "n2", map[string]any{"a": 2}))
	waitOutbox(t, s.ws, "holding the sender's op and its ack", func(o ws.Outbox) bool {
		var op, ack bool
		for _, f := range o.Pending {
			op = op || bytes.HasPrefix(f, []byte(`{"type":"op"`)) && bytes.Contains(f, []byte(`"n2"`))
			ack = ack || bytes.HasPrefix(f, []byte(`{"type":"ack","ref":"s1"`))
		}
		return op && ack
	})
	wire.Release()
	if f := sender.Next(ofType("op")); f.ID != "n1" {
		t.Fatalf("first op is %s, want n1", f.ID)
	}
	got := map[string]bool{}
	for range 2 {
		f := sender.Next(ofType("op", "ack"))
		got[f.Type] = true
	}
	if !got["op"] || !got["ack"] {
		t.Fatalf("after n1: %v, want the own op and its ack", got)
	}
	if n := wire.Writes() - before; n != 2 {
		t.Errorf("%d writes, want 2 (other's op, then own op and ack together)", n)
	}
}
