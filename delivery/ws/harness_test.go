package ws_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/papercast/papercast/delivery/rest"
	"github.com/papercast/papercast/delivery/ws"
	"github.com/papercast/papercast/paper"
	"github.com/papercast/papercast/repository/memory"
	"github.com/papercast/papercast/usecase"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// server is the whole stack on the embedded store behind a real listener.
type server struct {
	t      *testing.T
	url    string
	hub    *usecase.Hub
	ws     *ws.Handler
	papers *usecase.Papers
	logs   *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newServer(t *testing.T, opts ws.Options) *server {
	t.Helper()
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	limits := paper.DefaultLimits()
	st := memory.New(memory.Options{Limits: limits, HistorySize: 100, PresenceTTL: time.Minute})
	papers := usecase.NewPapers(st, st, limits, log)
	hub := usecase.NewHub(st, st, st, limits, usecase.HubOptions{}, nil, log)
	e := rest.NewEcho(rest.Options{}, log)
	rest.Register(e, papers)
	h := ws.New(hub, opts, nil, log)
	h.Register(e)
	srv := httptest.NewServer(e)
	s := &server{t: t, url: srv.URL, hub: hub, ws: h, papers: papers, logs: logs}
	t.Cleanup(func() {
		hub.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := h.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := hub.Wait(ctx); err != nil {
			t.Errorf("rooms left: %v", err)
		}
		srv.Close()
		st.Close()
	})
	return s
}

type created struct {
	ID       string `json:"id"`
	Epoch    string `json:"epoch"`
	OwnerKey string `json:"ownerKey"`
}

func (s *server) create() created {
	s.t.Helper()
	res, err := http.Post(s.url+"/v1/papers", "application/json", strings.NewReader(`{"title":"Happy birthday","to":"Ada"}`))
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	var c created
	if err := json.NewDecoder(res.Body).Decode(&c); err != nil || res.StatusCode != 201 {
		s.t.Fatalf("create: %d %v", res.StatusCode, err)
	}
	return c
}

type document struct {
	Seq      uint64                       `json:"seq"`
	Status   string                       `json:"status"`
	Elements []map[string]json.RawMessage `json:"elements"`
}

func (s *server) document(id string) document {
	s.t.Helper()
	res, err := http.Get(s.url + "/v1/papers/" + id)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	var d document
	if err := json.NewDecoder(res.Body).Decode(&d); err != nil {
		s.t.Fatal(err)
	}
	return d
}

// frame is any server frame.
type frame struct {
	Type     string                       `json:"type"`
	Seq      uint64                       `json:"seq"`
	From     uint64                       `json:"from"`
	Epoch    string                       `json:"epoch"`
	Ref      string                       `json:"ref"`
	Code     string                       `json:"code"`
	Message  string                       `json:"message"`
	Op       string                       `json:"op"`
	ID       string                       `json:"id"`
	Fields   map[string]json.RawMessage   `json:"fields"`
	Elements []map[string]json.RawMessage `json:"elements"`
	Presence []map[string]json.RawMessage `json:"presence"`
	Event    string                       `json:"event"`
	Session  string                       `json:"session"`
	You      struct{ Session, User, Name string }
	Paper    struct{ Status string }
	raw      []byte
}

// client is a real WebSocket client reading in its own goroutine.
type client struct {
	t      *testing.T
	c      *websocket.Conn
	frames chan frame
	done   chan struct{}
	mu     sync.Mutex
	close  int     // close code received, 0 while open
	held   []frame // frames skipped by next, kept for later calls
}

func dial(t *testing.T, base, paperID string, q url.Values) (*client, *http.Response, error) {
	t.Helper()
	u := "ws" + strings.TrimPrefix(base, "http") + "/v1/papers/" + paperID + "/ws"
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	c, res, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		return nil, res, err
	}
	cl := &client{t: t, c: c, frames: make(chan frame, 100000), done: make(chan struct{})}
	go cl.read()
	t.Cleanup(func() { cl.c.Close(); <-cl.done })
	return cl, res, nil
}

func (s *server) join(paperID string, q url.Values) *client {
	s.t.Helper()
	c, _, err := dial(s.t, s.url, paperID, q)
	if err != nil {
		s.t.Fatalf("dial: %v", err)
	}
	return c
}

func (c *client) read() {
	defer close(c.done)
	for {
		_, data, err := c.c.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			c.mu.Lock()
			if errors.As(err, &ce) {
				c.close = ce.Code
			} else {
				c.close = -1
			}
			c.mu.Unlock()
			close(c.frames)
			return
		}
		var f frame
		if err := json.Unmarshal(data, &f); err != nil {
			c.t.Errorf("server sent non-JSON: %q", data)
		}
		f.raw = data
		c.frames <- f
	}
}

func (c *client) send(v any) {
	c.t.Helper()
	b, ok := v.([]byte)
	if !ok {
		if s, isStr := v.(string); isStr {
			b = []byte(s)
		} else {
			b, _ = json.Marshal(v)
		}
	}
	if err := c.c.WriteMessage(websocket.TextMessage, b); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

// next returns the next frame matching keep, failing after a timeout.
func (c *client) next(keep func(frame) bool) frame {
	c.t.Helper()
	for i, f := range c.held {
		if keep == nil || keep(f) {
			c.held = append(c.held[:i:i], c.held[i+1:]...)
			return f
		}
	}
	timeout := time.After(10 * time.Second)
	for {
		select {
		case f, ok := <-c.frames:
			if !ok {
				c.t.Fatalf("connection closed (code %d) while waiting", c.closeCode())
			}
			if keep == nil || keep(f) {
				return f
			}
			c.held = append(c.held, f)
		case <-timeout:
			c.t.Fatal("timed out waiting for a frame")
		}
	}
}

func ofType(types ...string) func(frame) bool {
	return func(f frame) bool {
		for _, t := range types {
			if f.Type == t {
				return true
			}
		}
		return false
	}
}

func (c *client) closeCode() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.close
}

// waitClosed waits for the server to close the connection and returns the code.
func (c *client) waitClosed() int {
	c.t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case _, ok := <-c.frames:
			if !ok {
				return c.closeCode()
			}
		case <-timeout:
			c.t.Fatal("connection not closed")
		}
	}
}

func upsert(ref, id string, fields map[string]any) map[string]any {
	return map[string]any{"type": "upsert", "ref": ref, "id": id, "fields": fields}
}

func q(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

var _ = fmt.Sprint
var _ = io.Discard
