package ws_test

import (
	"testing"

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
