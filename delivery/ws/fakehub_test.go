package ws_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/papercast/papercast/delivery/rest"
	"github.com/papercast/papercast/delivery/ws"
	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/internal/wstest"
	"github.com/papercast/papercast/protocol"
	"github.com/papercast/papercast/usecase"
)

// fakeHub stands in for the use case: every paper exists and Admit passes
// the request on through admit (nil: unchanged), Join answers with joinErr
// or starts the session with a bare snapshot, and each member fails its
// edits and presence with editErr. It keeps the sinks it was given, so a
// test can close a session for any reason.
type fakeHub struct {
	admit   func(usecase.JoinRequest) (usecase.JoinRequest, error)
	joinErr error
	editErr error

	mu    sync.Mutex
	sinks []usecase.Sink
}

func (h *fakeHub) Admit(_ context.Context, req usecase.JoinRequest) (usecase.JoinRequest, error) {
	if h.admit != nil {
		return h.admit(req)
	}
	return req, nil
}

func (h *fakeHub) Join(_ context.Context, req usecase.JoinRequest, sink usecase.Sink) (*fakeMember, error) {
	if h.joinErr != nil {
		return nil, h.joinErr
	}
	// Kept before the first frame goes out: a test acts on lastSink as soon
	// as its client has that frame.
	h.mu.Lock()
	h.sinks = append(h.sinks, sink)
	h.mu.Unlock()
	you := domain.Author{Session: "s-" + req.User, User: req.User, Name: req.Name}
	if err := sink.Start([][]byte{protocol.SnapshotFrame(domain.Document{}, protocol.You{Author: you, Token: req.Token}, nil)}); err != nil {
		return nil, err
	}
	return &fakeMember{author: you, err: h.editErr}, nil
}

func (h *fakeHub) lastSink() usecase.Sink {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.sinks[len(h.sinks)-1]
}

type fakeMember struct {
	author domain.Author
	err    error
}

func (m *fakeMember) Author() domain.Author { return m.author }
func (m *fakeMember) Edit(context.Context, domain.Op) (uint64, error) {
	if m.err != nil {
		return 0, m.err
	}
	return 1, nil
}
func (m *fakeMember) SetPresence(context.Context, json.RawMessage) error { return m.err }
func (m *fakeMember) Claim(context.Context, string) error                { return m.err }
func (m *fakeMember) Ban(context.Context, string) error                  { return m.err }
func (m *fakeMember) Leave()                                             {}

// fakeServer serves the WebSocket delivery on a fake hub over a real socket.
func fakeServer(t *testing.T, hub *fakeHub, opts ws.Options) (string, *ws.Handler) {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	e := rest.NewEcho(rest.Options{}, log)
	h := ws.New(hub, opts, nil, log)
	h.Register(e)
	srv := httptest.NewServer(e)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := h.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		srv.Close()
	})
	return srv.URL, h
}

// wsCodes is the error frame code of every domain error, however wrapped.
var wsCodes = map[error]string{
	domain.ErrNotFound:     protocol.CodeNotFound,
	domain.ErrInvalid:      protocol.CodeInvalid,
	domain.ErrFinalized:    protocol.CodeFinalized,
	domain.ErrForbidden:    protocol.CodeForbidden,
	domain.ErrUnauthorized: protocol.CodeForbidden,
	domain.ErrUnavailable:  protocol.CodeUnavailable,
	domain.ErrTooLarge:     protocol.CodeTooLarge,
	domain.ErrRateLimited:  protocol.CodeRateLimited,
	domain.ErrConflict:     protocol.CodeFinalized,
	domain.ErrUnsupported:  protocol.CodeUnsupported,
	domain.ErrFull:         protocol.CodeFull,
	domain.ErrOverloaded:   protocol.CodeOverloaded,
	domain.ErrBanned:       protocol.CodeForbidden,
	domain.ErrFiltered:     protocol.CodeFiltered,
}

// TestEveryDomainErrorOfAnEditHasItsCode: an edit failing with any domain
// error is answered with that error's code (and the connection stays
// open); server-side trouble never shows its details.
func TestEveryDomainErrorOfAnEditHasItsCode(t *testing.T) {
	for _, derr := range domain.Errors() {
		want, ok := wsCodes[derr]
		if !ok {
			t.Errorf("domain error %q has no expected code in this test", derr)
			continue
		}
		t.Run(want+"/"+derr.Error(), func(t *testing.T) {
			hub := &fakeHub{editErr: fmt.Errorf("edit paper p at 10.0.0.1: %w", derr)}
			base, _ := fakeServer(t, hub, ws.Options{})
			c := wstest.MustDial(t, base, "p", q("user", "u"))
			c.First()
			c.Send(upsert("r1", "n1", map[string]any{"a": 1}))
			e := c.Next(nil)
			if e.Type != "error" || e.Code != want || e.Ref != "r1" || e.Message == "" {
				t.Fatalf("got %s, want error %s for r1", e.Raw, want)
			}
			if m := protocol.ErrorOf(want).Message; m != "" && e.Message != m {
				t.Fatalf("server-side trouble shows %q, want the fixed %q", e.Message, m)
			}
			c.Send(map[string]any{"type": "presence", "ref": "r2", "state": map[string]any{}})
			if e := c.Next(nil); e.Code != want || e.Ref != "r2" {
				t.Fatalf("presence got %s, want error %s", e.Raw, want)
			}
		})
	}
	unknown := &fakeHub{editErr: fmt.Errorf("redis at 10.0.0.1: ERR something odd")}
	base, _ := fakeServer(t, unknown, ws.Options{})
	c := wstest.MustDial(t, base, "p", nil)
	c.First()
	c.Send(upsert("r1", "n1", map[string]any{"a": 1}))
	if e := c.Next(nil); e.Code != protocol.CodeUnavailable || e.Message != protocol.ErrorOf(protocol.CodeUnavailable).Message {
		t.Fatalf("an error of no domain kind got %s", e.Raw)
	}
}

// TestJoinRefusalsSayWhyAndCloseWithTheirCode: a join refused after the
// upgrade sends one error frame and then the close its error calls for.
func TestJoinRefusalsSayWhyAndCloseWithTheirCode(t *testing.T) {
	tests := []struct {
		err   error
		code  string
		close protocol.Disconnect
	}{
		{domain.ErrFull, protocol.CodeFull, protocol.DisconnectFull},
		{domain.ErrNotFound, protocol.CodeNotFound, protocol.DisconnectDeleted},
		{domain.ErrBanned, protocol.CodeForbidden, protocol.DisconnectBanned},
		{domain.ErrUnavailable, protocol.CodeUnavailable, protocol.DisconnectTryLater},
		{domain.ErrFiltered, protocol.CodeFiltered, protocol.DisconnectPolicy},
		{fmt.Errorf("some bug"), protocol.CodeUnavailable, protocol.DisconnectTryLater},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			base, _ := fakeServer(t, &fakeHub{joinErr: fmt.Errorf("join p: %w", tt.err)}, ws.Options{})
			c := wstest.MustDial(t, base, "p", nil)
			if e := c.Next(nil); e.Type != "error" || e.Code != tt.code {
				t.Fatalf("got %s, want error %s", e.Raw, tt.code)
			}
			if code := c.WaitClosed(); code != tt.close.Code {
				t.Fatalf("close %d, want %d", code, tt.close.Code)
			}
		})
	}
}

// TestEveryCloseReasonHasItsCloseCode: the use case closing a session for
// any reason reaches the client as that reason's close code.
func TestEveryCloseReasonHasItsCloseCode(t *testing.T) {
	want := map[domain.CloseReason]protocol.Disconnect{
		domain.CloseGoingAway: protocol.DisconnectGoingAway,
		domain.CloseResync:    protocol.DisconnectResync,
		domain.CloseDeleted:   protocol.DisconnectDeleted,
		domain.CloseBanned:    protocol.DisconnectBanned,
	}
	for _, reason := range domain.CloseReasons() {
		d, ok := want[reason]
		if !ok {
			t.Errorf("close reason %v has no expected close code in this test", reason)
			continue
		}
		t.Run(reason.String(), func(t *testing.T) {
			hub := &fakeHub{}
			base, _ := fakeServer(t, hub, ws.Options{})
			c := wstest.MustDial(t, base, "p", nil)
			c.First()
			hub.lastSink().Close(reason)
			if code := c.WaitClosed(); code != d.Code {
				t.Fatalf("close %d, want %d", code, d.Code)
			}
		})
	}
}

// TestAFrameTypeTheSessionDoesNotServeIsUnsupported: a frame the decoder
// accepts but the session has no branch for (an op kind half added) is
// answered with unsupported instead of silence.
func TestAFrameTypeTheSessionDoesNotServeIsUnsupported(t *testing.T) {
	base, h := fakeServer(t, &fakeHub{}, ws.Options{})
	ws.SetDecoder(h, func(data []byte) (protocol.ClientFrame, error) {
		var f struct{ Type, Ref string }
		if err := json.Unmarshal(data, &f); err == nil && f.Type == "move" {
			return protocol.ClientFrame{Type: f.Type, Ref: f.Ref, ID: "n1"}, nil
		}
		return protocol.DecodeClient(data)
	})
	c := wstest.MustDial(t, base, "p", nil)
	c.First()
	c.Send(map[string]any{"type": "move", "ref": "m1", "id": "n1"})
	c.Send(upsert("u1", "n1", map[string]any{"a": 1}))
	if f := c.Next(nil); f.Type != "error" || f.Code != protocol.CodeUnsupported || f.Ref != "m1" {
		t.Fatalf("first answer %s, want error unsupported for m1", f.Raw)
	}
	if f := c.Next(nil); f.Type != "ack" || f.Ref != "u1" {
		t.Fatalf("then %s, want the ack of u1", f.Raw)
	}
}
