package ws_test

import (
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/papercast/papercast/delivery/ws"
	"github.com/papercast/papercast/protocol"
	"github.com/papercast/papercast/usecase"
)

// TestJoinRefusedForCapacityIsFullThen4013: a paper at its session limit
// refuses the next join with error full and close 4013, not "unavailable".
func TestJoinRefusedForCapacityIsFullThen4013(t *testing.T) {
	s := newServerWithHub(t, ws.Options{}, usecase.HubOptions{MaxSessionsPerPaper: 1})
	p := s.create()
	first := s.join(p.ID, nil)
	first.First()
	refused := s.join(p.ID, nil)
	e := refused.Next(nil)
	if e.Type != "error" || e.Code != "full" || e.Message == "" {
		t.Fatalf("refused join got %s, want an error full", e.Raw)
	}
	if code := refused.WaitClosed(); code != protocol.DisconnectFull.Code {
		t.Fatalf("close %d, want 4013", code)
	}
}

// TestBinaryFloodEndsLikeAnyFlood: binary frames cost the ops bucket like
// garbage text, so a flood of them is rate limited and then closed (1008).
func TestBinaryFloodEndsLikeAnyFlood(t *testing.T) {
	s := newServer(t, ws.Options{OpsPerSecond: 1, OpsBurst: 2, AbuseStrikes: 5})
	p := s.create()
	c := s.join(p.ID, nil)
	c.First()
	for i := 0; i < 10; i++ {
		if err := c.Conn.WriteMessage(websocket.BinaryMessage, []byte{1, 2, 3}); err != nil {
			break // closed by the server meanwhile
		}
	}
	limited := 0
	for {
		f, err := c.NextErr(nil, 10*time.Second)
		if err != nil {
			break // closed, or still open with nothing more to say
		}
		if f.Type == "error" && f.Code == "rate_limited" {
			limited++
		}
	}
	if limited == 0 || c.CloseCode() != protocol.DisconnectPolicy.Code {
		t.Fatalf("%d rate_limited errors, close %d; want some, then 1008", limited, c.CloseCode())
	}
}
