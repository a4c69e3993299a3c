package ws_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/papercast/papercast/internal/logtest"

	"go.uber.org/goleak"

	"github.com/papercast/papercast/delivery/rest"
	"github.com/papercast/papercast/delivery/ws"
	"github.com/papercast/papercast/internal/wstest"
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
	logs   *logtest.Buffer
}

func newServer(t *testing.T, opts ws.Options) *server {
	t.Helper()
	return newServerWithHub(t, opts, usecase.HubOptions{})
}

// newServerWithHub is newServer with hub options (session limits, ...).
func newServerWithHub(t *testing.T, opts ws.Options, hubOpts usecase.HubOptions) *server {
	t.Helper()
	logs := &logtest.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	limits := paper.DefaultLimits()
	st := memory.New(memory.Options{Limits: limits, HistorySize: 100, PresenceTTL: time.Minute})
	papers := usecase.NewPapers(st, st, limits)
	hub := usecase.NewHub(st, st, st, limits, hubOpts, nil, log)
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
	return s.createWith(`{"title":"Happy birthday","to":"Ada"}`)
}

// createOpen creates a paper anyone may edit all of: a whiteboard.
func (s *server) createOpen() created {
	s.t.Helper()
	return s.createWith(`{"title":"Happy birthday","to":"Ada","edit":"open"}`)
}

func (s *server) createWith(body string) created {
	s.t.Helper()
	res, err := http.Post(s.url+"/v1/papers", "application/json", strings.NewReader(body))
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

type (
	client = wstest.Client
	frame  = wstest.Frame
)

var (
	ofType = wstest.OfType
	upsert = wstest.Upsert
	q      = wstest.Q
)

func dial(t *testing.T, base, paperID string, q url.Values) (*client, *http.Response, error) {
	return wstest.Dial(t, base, paperID, q)
}

func (s *server) join(paperID string, q url.Values) *client {
	s.t.Helper()
	return wstest.MustDial(s.t, s.url, paperID, q)
}
