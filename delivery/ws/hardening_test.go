package ws_test

import (
	"bytes"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/papercast/papercast/delivery/ws"
	"github.com/papercast/papercast/protocol"
)

func TestPanicInHandlingClosesOnlyThatSessionWith1011(t *testing.T) {
	s := newServer(t, ws.Options{})
	ws.SetFrameHook(s.ws, func(data []byte) {
		if bytes.Contains(data, []byte("boom")) {
			panic("injected failure")
		}
	})
	p := s.create()
	victim := s.join(p.ID, nil)
	victim.Next(ofType("snapshot"))
	other := s.join(p.ID, nil)
	other.Next(ofType("snapshot"))
	victim.Send(upsert("boom", "n1", map[string]any{"a": 1}))
	if code := victim.WaitClosed(); code != protocol.DisconnectInternal.Code {
		t.Fatalf("close code %d, want 1011", code)
	}
	if !strings.Contains(s.logs.String(), "injected failure") || !strings.Contains(s.logs.String(), "stack=") {
		t.Fatal("panic not logged with its stack")
	}
	other.Send(upsert("fine", "n1", map[string]any{"a": 2}))
	if ack := other.Next(ofType("ack", "error")); ack.Type != "ack" {
		t.Fatalf("server stopped serving: %s", ack.Raw)
	}
}

// TestStalledClientDoesNotSlowOthers: one client stops reading on a busy
// paper. It is closed once its bounded buffer overflows, while another client
// keeps receiving every op in order.
func TestStalledClientDoesNotSlowOthers(t *testing.T) {
	s := newServer(t, ws.Options{SendBuffer: 16, OpsPerSecond: 1e6, OpsBurst: 1e6})
	p := s.create()
	// The stalled client: a raw WebSocket that never reads after the handshake.
	u := "ws" + strings.TrimPrefix(s.url, "http") + "/v1/papers/" + p.ID + "/ws"
	stalled, _, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	healthy := s.join(p.ID, nil)
	healthy.Next(ofType("snapshot"))
	writer := s.join(p.ID, nil)
	writer.Next(ofType("snapshot"))
	value := strings.Repeat("x", 4000)
	var sent uint64
	closedAt := uint64(0)
	for sent < 3000 {
		sent++
		writer.Send(upsert(fmt.Sprint(sent), "n1", map[string]any{"a": value, "b": value, "c": value}))
		writer.Next(ofType("ack"))
		if closedAt == 0 {
			if _, n := s.hub.Stats(); n == 2 {
				closedAt = sent
			}
		}
		if closedAt != 0 && sent >= closedAt+50 {
			break
		}
	}
	if closedAt == 0 {
		t.Fatalf("stalled client still open after %d ops of 12 KB", sent)
	}
	for want := uint64(1); want <= sent; want++ {
		if op := healthy.Next(ofType("op")); op.Seq != want {
			t.Fatalf("healthy client got seq %d, want %d", op.Seq, want)
		}
	}
	// The stalled client finds its connection closed when it reads again:
	// with 4008 if the close frame fit in its socket, else the drop itself.
	_ = stalled.SetReadDeadline(time.Now().Add(10 * time.Second))
	for n := 0; ; n++ {
		if _, _, err := stalled.ReadMessage(); err != nil {
			t.Logf("stalled client read %d frames, then %v", n, err)
			if ce, ok := err.(*websocket.CloseError); ok && ce.Code != protocol.DisconnectTooSlow.Code && ce.Code != websocket.CloseAbnormalClosure {
				t.Fatalf("closed with %d", ce.Code)
			}
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatal("stalled client never closed")
			}
			break
		}
	}
}

// TestTwoThousandSessionsComeAndGoWithoutLeaks opens and drops 2,000
// sessions over 100 papers, half closing cleanly and half cutting TCP, and
// checks goroutines, rooms and sessions go back to the baseline.
func TestTwoThousandSessionsComeAndGoWithoutLeaks(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 2,000 connections")
	}
	s := newServer(t, ws.Options{})
	ids := make([]string, 100)
	for i := range ids {
		ids[i] = s.create().ID
	}
	baseline := runtime.NumGoroutine()
	u := "ws" + strings.TrimPrefix(s.url, "http")
	conns := make([]*websocket.Conn, 2000)
	var wg sync.WaitGroup
	errs := make(chan error, 2000)
	sem := make(chan struct{}, 64)
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			c, _, err := websocket.DefaultDialer.Dial(u+"/v1/papers/"+ids[i%100]+"/ws", nil)
			if err != nil {
				errs <- err
				return
			}
			if _, _, err := c.ReadMessage(); err != nil {
				errs <- err
				return
			}
			conns[i] = c
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if rooms, n := s.hub.Stats(); len(rooms) != 100 || n != 2000 {
		t.Fatalf("%d rooms, %d sessions", len(rooms), n)
	}
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye"), time.Now().Add(time.Second))
				_, _, _ = c.ReadMessage()
			}
			if tcp, ok := c.UnderlyingConn().(*net.TCPConn); ok && i%2 == 1 {
				_ = tcp.SetLinger(0) // RST: cut, not a goodbye
			}
			c.Close()
		}()
	}
	wg.Wait()
	deadline := time.Now().Add(20 * time.Second)
	for {
		rooms, n := s.hub.Stats()
		g := runtime.NumGoroutine()
		if len(rooms) == 0 && n == 0 && g <= baseline+5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after everyone left: %d rooms, %d sessions, %d goroutines (baseline %d)", len(rooms), n, g, baseline)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := s.ws.Sessions(); got != 0 {
		t.Fatalf("melody still holds %d sessions", got)
	}
}
