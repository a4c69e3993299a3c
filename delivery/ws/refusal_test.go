package ws_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/papercast/papercast/delivery/ws"
	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/internal/wstest"
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

// TestAdmitRefusesBeforeTheUpgrade: what the use case refuses at Admit (a
// filtered display name) is a plain HTTP error with the REST error body,
// before any WebSocket exists.
func TestAdmitRefusesBeforeTheUpgrade(t *testing.T) {
	hub := &fakeHub{admit: func(req usecase.JoinRequest) (usecase.JoinRequest, error) {
		return req, fmt.Errorf("join p: %w: name contains a blocked word", domain.ErrFiltered)
	}}
	base, _ := fakeServer(t, hub, ws.Options{})
	_, res, err := wstest.Dial(t, base, "p", q("user", "u", "name", "a bad word"))
	if err == nil || res == nil {
		t.Fatalf("dial succeeded (%v), want a refusal", err)
	}
	defer res.Body.Close()
	var body struct{ Error struct{ Code string } }
	_ = json.NewDecoder(res.Body).Decode(&body)
	if res.StatusCode != http.StatusBadRequest || body.Error.Code != protocol.CodeFiltered {
		t.Fatalf("refused with %d %q, want 400 filtered", res.StatusCode, body.Error.Code)
	}
}

// TestTheAdmittedRequestIsTheOneJoined: the session joins with what Admit
// returned (a masked name), and the token its identity carries reaches the
// client in you.token.
func TestTheAdmittedRequestIsTheOneJoined(t *testing.T) {
	hub := &fakeHub{admit: func(req usecase.JoinRequest) (usecase.JoinRequest, error) {
		req.Name = "***"
		return req, nil
	}}
	identify := func(r *http.Request, _ string) (ws.Identity, error) {
		return ws.Identity{User: "u1", Name: r.URL.Query().Get("name"), Token: "g1.t.k"}, nil
	}
	base, _ := fakeServer(t, hub, ws.Options{Identify: identify})
	c := wstest.MustDial(t, base, "p", q("name", "ass"))
	if f := c.First(); f.You.User != "u1" || f.You.Name != "***" || f.You.Token != "g1.t.k" {
		t.Fatalf("first frame %s: want user u1, the admitted name *** and token g1.t.k", f.Raw)
	}
}
