package rest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/papercast/papercast/internal/logtest"

	"github.com/labstack/echo/v4"

	"github.com/papercast/papercast/delivery/rest"
	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/paper"
)

// fakeService is an in-memory rest.Service with the usecase's rules (check
// order: unknown paper, missing key, wrong key, already final). The real
// store is exercised by the integration tests elsewhere.
type fakeService struct {
	mu       sync.Mutex
	papers   map[string]*fakePaper
	creates  int    // successful Create calls
	calls    int    // every call that reached the service
	err      error  // when set, every paper method returns it
	panicMsg string // when set, every paper method panics with it
	readyErr error
	now      time.Time
}

type fakePaper struct {
	doc  domain.Document
	key  string
	bans map[string]bool
}

func newFake() *fakeService {
	f := &fakeService{papers: map[string]*fakePaper{}, now: time.Date(2026, 11, 25, 18, 39, 38, 0, time.UTC)}
	f.papers["paper1"] = &fakePaper{key: "owner-paper1-s3cret", doc: domain.Document{
		Paper: domain.Paper{ID: "paper1", Title: "Happy birthday <Ana>", To: "Ana", Status: domain.StatusOpen,
			Seq: 3, Epoch: "ep1", CreatedAt: f.now, Edit: domain.EditAuthors},
		// Creation order is n2 then n1; values are raw JSON as stored.
		Elements: []domain.Element{
			{ID: "n2", By: domain.ElementAuthor{User: "u7", Name: "Ben <3"}, CreatedAt: f.now.Add(time.Minute), Fields: map[string]json.RawMessage{
				"text": json.RawMessage(`"<b>hi</b> & \u00e9"`),
				"x":    json.RawMessage(`1.50`),
				"tags": json.RawMessage(`["a",{"b":null}]`),
			}},
			{ID: "n1", By: domain.ElementAuthor{User: "u42"}, CreatedAt: f.now.Add(2 * time.Minute), Fields: map[string]json.RawMessage{"color": json.RawMessage(`"#ffd"`)}},
		},
	}}
	fin := f.now.Add(time.Hour)
	f.papers["final1"] = &fakePaper{key: "owner-final1", doc: domain.Document{
		Paper: domain.Paper{ID: "final1", Title: "Done", Status: domain.StatusFinal,
			Seq: 9, Epoch: "ep2", CreatedAt: f.now, FinalizedAt: &fin, Edit: domain.EditOpen},
	}}
	return f
}

func (f *fakeService) enter() error {
	f.calls++
	if f.panicMsg != "" {
		panic(f.panicMsg)
	}
	return f.err
}

func (f *fakeService) Create(_ context.Context, title, to, edit string) (domain.Paper, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter(); err != nil {
		return domain.Paper{}, "", err
	}
	if err := paper.DefaultLimits().ValidateTitle(title, to); err != nil {
		return domain.Paper{}, "", err
	}
	if edit == "" {
		edit = domain.EditAuthors
	}
	if err := paper.ValidateEdit(edit); err != nil {
		return domain.Paper{}, "", err
	}
	f.creates++
	p := domain.Paper{ID: fmt.Sprintf("new%d", f.creates), Title: title, To: to, Status: domain.StatusOpen,
		Epoch: "epN", CreatedAt: f.now, Edit: edit}
	key := "owner-" + p.ID + "-s3cret"
	f.papers[p.ID] = &fakePaper{doc: domain.Document{Paper: p}, key: key}
	return p, key, nil
}

func (f *fakeService) Document(_ context.Context, id string) (domain.Document, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter(); err != nil {
		return domain.Document{}, err
	}
	p, ok := f.papers[id]
	if !ok {
		return domain.Document{}, fmt.Errorf("paper %s: %w", id, domain.ErrNotFound)
	}
	return p.doc, nil
}

func (f *fakeService) authorize(id, key string) (*fakePaper, error) {
	p, ok := f.papers[id]
	switch {
	case !ok:
		return nil, fmt.Errorf("paper %s: %w", id, domain.ErrNotFound)
	case key == "":
		return nil, fmt.Errorf("%w: the owner key is required", domain.ErrUnauthorized)
	case key != p.key:
		return nil, fmt.Errorf("%w: wrong owner key", domain.ErrForbidden)
	}
	return p, nil
}

func (f *fakeService) Finalize(_ context.Context, id, key string) (domain.Document, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter(); err != nil {
		return domain.Document{}, err
	}
	p, err := f.authorize(id, key)
	if err != nil {
		return domain.Document{}, err
	}
	if p.doc.Paper.Status == domain.StatusFinal {
		return domain.Document{}, fmt.Errorf("paper %s: %w: already final", id, domain.ErrConflict)
	}
	at := f.now.Add(time.Minute)
	p.doc.Paper.Status, p.doc.Paper.FinalizedAt = domain.StatusFinal, &at
	p.doc.Paper.Seq++
	return p.doc, nil
}

func (f *fakeService) Delete(_ context.Context, id, key string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter(); err != nil {
		return err
	}
	if _, err := f.authorize(id, key); err != nil {
		return err
	}
	delete(f.papers, id)
	return nil
}

func (f *fakeService) SetEdit(_ context.Context, id, key, edit string) (domain.Paper, error) {
	var out domain.Paper
	err := f.asOwner(id, key, func(p *fakePaper) error {
		if err := paper.ValidateEdit(edit); err != nil {
			return err
		}
		if p.doc.Paper.Status == domain.StatusFinal {
			return fmt.Errorf("paper %s: %w", id, domain.ErrFinalized)
		}
		if p.doc.Paper.Edit != edit {
			p.doc.Paper.Edit = edit
			p.doc.Paper.Seq++
		}
		out = p.doc.Paper
		return nil
	})
	return out, err
}

func (f *fakeService) Ban(_ context.Context, id, key, user string) error {
	return f.asOwner(id, key, func(p *fakePaper) error {
		if err := paper.ValidateUser(user); err != nil {
			return err
		}
		if p.bans == nil {
			p.bans = map[string]bool{}
		}
		p.bans[user] = true
		return nil
	})
}

func (f *fakeService) Unban(_ context.Context, id, key, user string) error {
	return f.asOwner(id, key, func(p *fakePaper) error {
		if err := paper.ValidateUser(user); err != nil {
			return err
		}
		delete(p.bans, user)
		return nil
	})
}

// asOwner runs fn on the paper if key is its owner key.
func (f *fakeService) asOwner(id, key string, fn func(p *fakePaper) error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter(); err != nil {
		return err
	}
	p, err := f.authorize(id, key)
	if err != nil {
		return err
	}
	return fn(p)
}

func (f *fakeService) Ready(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.readyErr
}

// harness is one server: the echo built by NewEcho + Register, its fake
// service and its captured JSON log.
type harness struct {
	e     *echo.Echo
	f     *fakeService
	cards *fakeCards
	log   *logtest.Buffer
}

func newHarness(t *testing.T, opts rest.Options) *harness {
	t.Helper()
	buf := &logtest.Buffer{}
	log := slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := &harness{e: rest.NewEcho(opts, log), f: newFake(), cards: &fakeCards{}, log: buf}
	rest.Register(h.e, h.f)
	rest.RegisterCards(h.e, h.f, h.cards)
	return h
}

func (h *harness) do(req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.e.ServeHTTP(rec, req)
	return rec
}

// request builds a request; headers are "Name: value" strings.
func request(method, target, body string, headers ...string) *http.Request {
	var req *http.Request
	if body == "" {
		req = httptest.NewRequest(method, target, nil)
	} else {
		req = httptest.NewRequest(method, target, strings.NewReader(body))
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	return req
}

const jsonCT = "Content-Type: application/json"

type errorJSON struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// errorCode decodes a JSON error body strictly (nothing but the error).
func errorCode(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("error Content-Type = %q, want application/json; body %s", ct, rec.Body)
	}
	dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	dec.DisallowUnknownFields()
	var e errorJSON
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("error body %q is not {\"error\":{code,message}}: %v", rec.Body, err)
	}
	if e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("error body %q lacks code or message", rec.Body)
	}
	return e.Error.Code
}
