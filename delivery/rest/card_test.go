package rest_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/papercast/papercast/delivery/rest"
	"github.com/papercast/papercast/domain"
)

// fakeCards stands in for the card renderer (card has its own tests): it
// returns the format and document version it was asked for.
type fakeCards struct {
	mu    sync.Mutex
	calls int
	err   error
}

func (f *fakeCards) render(format string, doc domain.Document) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	return fmt.Appendf(nil, "%s %s %s-%d", format, doc.Paper.ID, doc.Paper.Epoch, doc.Paper.Seq), nil
}

func (f *fakeCards) PNG(_ context.Context, doc domain.Document) ([]byte, error) {
	return f.render("png", doc)
}

func (f *fakeCards) PDF(_ context.Context, doc domain.Document) ([]byte, error) {
	return f.render("pdf", doc)
}

const (
	opCardPNG = "GET /v1/papers/{id}/card.png"
	opCardPDF = "GET /v1/papers/{id}/card.pdf"
)

func TestCardRoutes(t *testing.T) {
	s := loadSpec(t)
	cases := []struct {
		name    string
		op      string
		target  string
		headers []string
		cardErr error
		status  int
		code    string
		body    string
		mime    string
		renders int
	}{
		{name: "png of an open paper (a preview)", op: opCardPNG, target: "/v1/papers/paper1/card.png",
			status: http.StatusOK, body: "png paper1 ep1-3", mime: "image/png", renders: 1},
		{name: "pdf of a final paper", op: opCardPDF, target: "/v1/papers/final1/card.pdf",
			status: http.StatusOK, body: "pdf final1 ep2-9", mime: "application/pdf", renders: 1},
		{name: "not modified: the document's ETag", op: opCardPNG, target: "/v1/papers/final1/card.png",
			headers: []string{`If-None-Match: "ep2-9"`}, status: http.StatusNotModified, renders: 0},
		{name: "not modified, pdf, weak tag in a list", op: opCardPDF, target: "/v1/papers/final1/card.pdf",
			headers: []string{`If-None-Match: "ep2-8", W/"ep2-9"`}, status: http.StatusNotModified, renders: 0},
		{name: "an old ETag renders", op: opCardPNG, target: "/v1/papers/paper1/card.png",
			headers: []string{`If-None-Match: "ep1-2"`}, status: http.StatusOK, body: "png paper1 ep1-3", mime: "image/png", renders: 1},
		{name: "unknown paper", op: opCardPNG, target: "/v1/papers/nosuchpaper/card.png",
			status: http.StatusNotFound, code: "not_found", renders: 0},
		{name: "malformed id", op: opCardPDF, target: "/v1/papers/bad%20id/card.pdf",
			status: http.StatusNotFound, code: "not_found", renders: 0},
		{name: "renderer busy", op: opCardPNG, target: "/v1/papers/paper1/card.png",
			cardErr: fmt.Errorf("card renderer busy: %w", domain.ErrUnavailable),
			status:  http.StatusServiceUnavailable, code: "unavailable", renders: 1},
		{name: "unknown format", target: "/v1/papers/paper1/card.gif", status: http.StatusNotFound, code: "not_found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, rest.Options{})
			h.cards.err = tc.cardErr
			rec := h.do(request(http.MethodGet, tc.target, "", tc.headers...))
			if rec.Code != tc.status {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tc.status, rec.Body)
			}
			if tc.code != "" {
				if got := errorCode(t, rec); got != tc.code {
					t.Errorf("code = %q, want %q", got, tc.code)
				}
			}
			if tc.op != "" && !s.documents(tc.op, tc.status) {
				t.Errorf("docs/openapi.yaml does not document %d for %s", tc.status, tc.op)
			}
			if h.cards.calls != tc.renders {
				t.Errorf("%d renders, want %d", h.cards.calls, tc.renders)
			}
			checkCardHeaders(t, rec, tc.status, tc.mime, tc.body)
		})
	}
}

func checkCardHeaders(t *testing.T, rec *httptest.ResponseRecorder, status int, mime, body string) {
	t.Helper()
	switch status {
	case http.StatusOK:
		if got := rec.Body.String(); got != body {
			t.Errorf("body = %q, want %q", got, body)
		}
		if got := rec.Header().Get("Content-Type"); got != mime {
			t.Errorf("Content-Type = %q, want %q", got, mime)
		}
		fallthrough
	case http.StatusNotModified:
		if rec.Header().Get("ETag") == "" || rec.Header().Get("Cache-Control") != "no-cache" {
			t.Errorf("ETag %q, Cache-Control %q", rec.Header().Get("ETag"), rec.Header().Get("Cache-Control"))
		}
		if status == http.StatusNotModified && rec.Body.Len() != 0 {
			t.Errorf("304 with a body: %q", rec.Body)
		}
	case http.StatusServiceUnavailable:
		if rec.Header().Get("Retry-After") == "" {
			t.Error("503 without Retry-After")
		}
	}
}

// The card's ETag is the document's: an app that fetched the final
// document can ask for its card conditionally with the same tag.
func TestCardETagIsTheDocumentETag(t *testing.T) {
	h := newHarness(t, rest.Options{})
	doc := h.do(request(http.MethodGet, "/v1/papers/final1", ""))
	for _, target := range []string{"/v1/papers/final1/card.png", "/v1/papers/final1/card.pdf"} {
		rec := h.do(request(http.MethodGet, target, ""))
		if got, want := rec.Header().Get("ETag"), doc.Header().Get("ETag"); got == "" || got != want {
			t.Errorf("%s: ETag %q, want the document's %q", target, got, want)
		}
	}
}
