package web

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/labstack/echo/v4"
	"go.uber.org/goleak"

	"github.com/papercast/papercast/domain"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// papersFake knows the papers in ids; down makes every lookup fail as an
// unreachable store does.
type papersFake struct {
	ids  map[string]bool
	down bool
}

func (f papersFake) Exists(_ context.Context, id string) error {
	if f.down {
		return errors.New("store unreachable")
	}
	if !f.ids[id] {
		return fmt.Errorf("paper %q: %w", id, domain.ErrNotFound)
	}
	return nil
}

var knownPapers = papersFake{ids: map[string]bool{"abc123": true, "any-id_at-all": true, "x": true, "abc": true}}

func newServer(t *testing.T) *echo.Echo {
	t.Helper()
	return newServerWith(t, knownPapers)
}

func newServerWith(t *testing.T, papers Papers) *echo.Echo {
	t.Helper()
	e := echo.New()
	Register(e, papers)
	return e
}

func get(t *testing.T, e *echo.Echo, method, target string, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	req.Host = "papers.example:8080"
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec
}

func TestRoutesServeEmbeddedFilesWithTheirContentTypes(t *testing.T) {
	e := newServer(t)
	tests := []struct {
		target, ctype, file string
	}{
		{"/", "text/html; charset=utf-8", "pages/index.html"},
		{"/p/abc123", "text/html; charset=utf-8", "pages/board.html"},
		{"/p/any-id_at-all", "text/html; charset=utf-8", "pages/board.html"},
		{"/static/board.js", "text/javascript; charset=utf-8", "static/board.js"},
		{"/static/landing.js", "text/javascript; charset=utf-8", "static/landing.js"},
		{"/static/app.css", "text/css; charset=utf-8", "static/app.css"},
		{"/static/favicon.svg", "image/svg+xml", "static/favicon.svg"},
		{"/client/papercast-client.js", "text/javascript; charset=utf-8", "client/papercast-client.js"},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			rec := get(t, e, http.MethodGet, tt.target, nil)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d, want 200", rec.Code)
			}
			if got := rec.Header().Get("Content-Type"); got != tt.ctype {
				t.Errorf("Content-Type %q, want %q", got, tt.ctype)
			}
			want, err := fs.ReadFile(files, tt.file)
			if err != nil {
				t.Fatal(err)
			}
			if rec.Body.String() != string(want) {
				t.Errorf("body is not the embedded %s", tt.file)
			}
		})
	}
}

func TestEveryResponseCarriesTheSecurityHeaders(t *testing.T) {
	e := newServer(t)
	for _, target := range []string{"/", "/p/x", "/static/board.js"} {
		rec := get(t, e, http.MethodGet, target, nil)
		h := rec.Header()
		if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options %q", target, got)
		}
		if got := h.Get("Cache-Control"); got != "no-cache" {
			t.Errorf("%s: Cache-Control %q", target, got)
		}
		if h.Get("ETag") == "" {
			t.Errorf("%s: no ETag", target)
		}
		if got := h.Get("Referrer-Policy"); got != "no-referrer" {
			t.Errorf("%s: Referrer-Policy %q", target, got)
		}
		csp := h.Get("Content-Security-Policy")
		for _, want := range []string{
			"default-src 'none'", "script-src 'self'", "style-src 'self'",
			"connect-src 'self' ws://papers.example:8080 wss://papers.example:8080",
			"frame-ancestors 'none'",
		} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", target, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "*") {
			t.Errorf("%s: CSP %q is too permissive", target, csp)
		}
	}
}

func TestCSPDoesNotCopyAStrangeHostHeader(t *testing.T) {
	got := csp("evil.example; script-src *")
	if strings.Contains(got, "evil") || strings.Contains(got, "script-src *") {
		t.Fatalf("csp copied the Host header: %q", got)
	}
	if !strings.Contains(got, "connect-src 'self';") {
		t.Fatalf("csp %q should fall back to 'self'", got)
	}
}

func TestUnknownOrEscapingStaticPathsAreNotFound(t *testing.T) {
	e := newServer(t)
	for _, target := range []string{
		"/static/nope.js", "/static/", "/static/../pages/index.html",
		"/static/%2e%2e/pages/index.html", "/static/pages/index.html", "/p/", "/p/nosuchpaper", "/web.go",
	} {
		if rec := get(t, e, http.MethodGet, target, nil); rec.Code != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", target, rec.Code)
		}
	}
}

func TestUnchangedFileIsNotSentAgain(t *testing.T) {
	e := newServer(t)
	first := get(t, e, http.MethodGet, "/static/board.js", nil)
	etag := first.Header().Get("ETag")
	rec := get(t, e, http.MethodGet, "/static/board.js", http.Header{"If-None-Match": {etag}})
	if rec.Code != http.StatusNotModified {
		t.Fatalf("status %d with a matching If-None-Match, want 304", rec.Code)
	}
	if rec.Body.Len() != 0 {
		t.Fatalf("304 carried a body")
	}
	if other := get(t, e, http.MethodGet, "/static/app.css", nil).Header().Get("ETag"); other == etag {
		t.Fatalf("two different files share ETag %s", etag)
	}
}

func TestHeadAnswersWithoutABody(t *testing.T) {
	e := newServer(t)
	rec := get(t, e, http.MethodHead, "/", nil)
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 {
		t.Fatalf("HEAD /: status %d, %d body bytes", rec.Code, rec.Body.Len())
	}
	if got := rec.Header().Get("Content-Type"); got != "text/html; charset=utf-8" {
		t.Fatalf("HEAD /: Content-Type %q", got)
	}
}

var (
	assetRef    = regexp.MustCompile(`(?:src|href)="(/static/[^"]+)"`)
	inlineCode  = regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]|<style|\sstyle="|\son[a-z]+="`)
	testIDMatch = regexp.MustCompile(`data-testid="([^"]+)"`)
)

// The CSP forbids inline scripts, styles and handlers, so a page using one
// would silently break in the browser; and every asset a page names must be
// served.
func TestPagesNeedNothingTheCSPForbidsAndNameOnlyServedAssets(t *testing.T) {
	e := newServer(t)
	for _, page := range []string{"pages/index.html", "pages/board.html", notFoundPage} {
		src, err := fs.ReadFile(files, page)
		if err != nil {
			t.Fatal(err)
		}
		if m := inlineCode.Find(src); m != nil {
			t.Errorf("%s has inline code the CSP blocks: %q", page, m)
		}
		refs := assetRef.FindAllSubmatch(src, -1)
		if len(refs) == 0 {
			t.Errorf("%s names no assets", page)
		}
		for _, m := range refs {
			if rec := get(t, e, http.MethodGet, string(m[1]), nil); rec.Code != http.StatusOK {
				t.Errorf("%s names %s, which answers %d", page, m[1], rec.Code)
			}
		}
	}
}

// The browser test finds controls by data-testid; a renamed one should fail
// here, where it is cheap, rather than in the browser.
func TestPagesCarryTheTestIDsTheBrowserTestUses(t *testing.T) {
	want := map[string][]string{
		"pages/index.html": {"create-title", "create-to", "create-submit", "share-link", "owner-link"},
		"pages/board.html": {"add-note", "finalize", "share", "conn-state", "who-list", "board", "name-input", "name-submit",
			"empty-hint", "card", "card-title", "download-png", "download-pdf", "zoom-fit", "unsaved", "share-url"},
		"pages/notfound.html": {"not-found", "home-link"},
		"static/board.js":     {"note", "note-handle", "note-text", "note-delete", "note-color", "note-author", "note-counter", "note-cut", "who-item", "cursor", "unsaved-text", "unsaved-copy"},
		"static/card.js":      {"card-note", "card-author"},
	}
	for file, ids := range want {
		src, err := fs.ReadFile(files, file)
		if err != nil {
			t.Fatal(err)
		}
		have := map[string]bool{}
		for _, m := range testIDMatch.FindAllSubmatch(src, -1) {
			have[string(m[1])] = true
		}
		for _, id := range ids {
			// Script-made elements set dataset.testid from a quoted literal.
			if !have[id] && !strings.Contains(string(src), "'"+id+"'") {
				t.Errorf("%s lacks data-testid %q", file, id)
			}
		}
	}
}

func TestLoadRefusesFilesItCannotServeProperly(t *testing.T) {
	page := &fstest.MapFile{Data: []byte("<!doctype html>")}
	tests := map[string]fstest.MapFS{
		"unknown extension": {"pages/index.html": page, "pages/board.html": page, notFoundPage: page, clientModule: page, "static/tool.exe": {Data: []byte("x")}},
		"no board page":     {"pages/index.html": page, notFoundPage: page, clientModule: page},
		"no not-found page": {"pages/index.html": page, "pages/board.html": page, clientModule: page},
		"no client module":  {"pages/index.html": page, "pages/board.html": page, notFoundPage: page},
	}
	for name, fsys := range tests {
		if _, err := load(fsys); err == nil {
			t.Errorf("%s: load accepted it", name)
		}
	}
	if _, err := load(fstest.MapFS{"pages/index.html": page, "pages/board.html": page, notFoundPage: page, clientModule: page}); err != nil {
		t.Errorf("load refused the three pages and the client: %v", err)
	}
}

// docs/openapi.yaml lists 206 and 416 for every page and asset: ranges
// come with http.ServeContent.
func TestPagesAnswerByteRanges(t *testing.T) {
	e := newServer(t)
	for _, target := range []string{"/", "/p/abc", "/static/board.js"} {
		part := get(t, e, http.MethodGet, target, http.Header{"Range": {"bytes=0-9"}})
		if part.Code != http.StatusPartialContent || part.Body.Len() != 10 {
			t.Errorf("GET %s bytes=0-9: status %d, %d bytes; want 206 and 10", target, part.Code, part.Body.Len())
		}
		out := get(t, e, http.MethodGet, target, http.Header{"Range": {"bytes=99999999-"}})
		if out.Code != http.StatusRequestedRangeNotSatisfiable || !strings.HasPrefix(out.Header().Get("Content-Range"), "bytes */") {
			t.Errorf("GET %s past the end: status %d, Content-Range %q; want 416 and bytes */n", target, out.Code, out.Header().Get("Content-Range"))
		}
	}
}

// Issue 12: /p/doesnotexist answered 200 and a board that said "Loading..."
// forever; /p/ answered the router's raw JSON. Both now get a page that says
// there is no such paper and links home.
func TestAnAddressWithoutAPaperGetsThe404Page(t *testing.T) {
	e := newServer(t)
	want, err := fs.ReadFile(files, notFoundPage)
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"/p/doesnotexist", "/p/", "/p/bad%20id", "/p/" + strings.Repeat("x", 65)} {
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			rec := get(t, e, method, target, nil)
			if rec.Code != http.StatusNotFound {
				t.Errorf("%s %s: status %d, want 404", method, target, rec.Code)
			}
			if got := rec.Header().Get("Content-Type"); got != "text/html; charset=utf-8" {
				t.Errorf("%s %s: Content-Type %q, want the HTML page", method, target, got)
			}
			if !strings.Contains(rec.Header().Get("Content-Security-Policy"), "default-src 'none'") {
				t.Errorf("%s %s: no CSP on the 404 page", method, target)
			}
			if method == http.MethodHead {
				if rec.Body.Len() != 0 {
					t.Errorf("HEAD %s: %d body bytes", target, rec.Body.Len())
				}
				continue
			}
			if rec.Body.String() != string(want) {
				t.Errorf("GET %s: body is not %s", target, notFoundPage)
			}
		}
	}
	body := string(want)
	for _, s := range []string{"This paper does not exist", `href="/"`} {
		if !strings.Contains(body, s) {
			t.Errorf("%s lacks %q", notFoundPage, s)
		}
	}
}

// A store that cannot answer is not proof that the paper is gone: the board
// is served, and it shows "reconnecting" until the store is back.
func TestTheBoardIsServedWhileTheStoreCannotAnswer(t *testing.T) {
	e := newServerWith(t, papersFake{down: true})
	rec := get(t, e, http.MethodGet, "/p/abc123", nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d, want 200", rec.Code)
	}
	board, _ := fs.ReadFile(files, "pages/board.html")
	if rec.Body.String() != string(board) {
		t.Fatal("body is not the board")
	}
}
