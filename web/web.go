// Package web serves the board page: a landing page that creates a paper
// (`GET /`), the board of one paper (`GET /p/:id`: live while the paper is
// open, the finished card once it is final; a 404 page when there is no such
// paper, and for /p/ without an id), their static assets (`GET /static/*`) and the reference client,
// papercast-client (`GET /client/papercast-client.js`, an ES module; its
// package and tests live beside it in web/client). The pages are plain HTML,
// CSS and JavaScript embedded in the binary; they talk to the server through
// protocol v1 only (REST v1 and the WebSocket), exactly as any other
// frontend would.
package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/papercast/papercast/domain"
)

// Papers is what the board route needs of the application: whether a paper
// exists, so that an address without one gets a page saying so instead of a
// board that never loads. usecase.Hub satisfies it.
type Papers interface {
	// Exists returns nil for an existing paper and an error wrapping
	// domain.ErrNotFound for none (including ids that cannot be one).
	Exists(ctx context.Context, paperID string) error
}

// files are the pages, their assets and the client module (only the module:
// web/client also holds its package files, tests and node_modules). go:embed
// needs a package-level variable; it is read-only.
//
//go:embed pages static client/papercast-client.js
var files embed.FS

// clientModule is the reference client, served at the same path.
const clientModule = "client/papercast-client.js"

// notFoundPage answers /p/{id} when there is no such paper.
const notFoundPage = "pages/notfound.html"

// asset is one embedded file, ready to serve.
type asset struct {
	name  string
	data  []byte
	ctype string
	etag  string
}

// contentType is set explicitly rather than taken from the system's MIME
// table, which differs between machines (and nosniff makes it matter).
func contentType(ext string) (string, bool) {
	switch ext {
	case ".html":
		return "text/html; charset=utf-8", true
	case ".css":
		return "text/css; charset=utf-8", true
	case ".js":
		return "text/javascript; charset=utf-8", true
	case ".svg":
		return "image/svg+xml", true
	case ".png":
		return "image/png", true
	case ".ico":
		return "image/x-icon", true
	case ".txt":
		return "text/plain; charset=utf-8", true
	}
	return "", false
}

// Register mounts the landing page, the board and the static assets on e.
func Register(e *echo.Echo, papers Papers) {
	assets, err := load(files)
	if err != nil {
		// The files are compiled in: a failure here is a build mistake that
		// the package's tests catch, not a runtime condition.
		panic(fmt.Sprintf("web: %v", err))
	}
	index, board, client, missing := assets["pages/index.html"], assets["pages/board.html"], assets[clientModule], assets[notFoundPage]
	methods := []string{http.MethodGet, http.MethodHead}
	e.Match(methods, "/", func(c echo.Context) error { return serve(c, index) })
	e.Match(methods, "/p/:id", func(c echo.Context) error {
		// A store that cannot answer now gets the benefit of the doubt: the
		// board shows "reconnecting" and finds out itself.
		if err := papers.Exists(c.Request().Context(), c.Param("id")); errors.Is(err, domain.ErrNotFound) {
			return serveNotFound(c, missing)
		}
		return serve(c, board)
	})
	// /p/ without an id: the same page, not the router's JSON error.
	e.Match(methods, "/p/", func(c echo.Context) error { return serveNotFound(c, missing) })
	e.Match(methods, "/"+clientModule, func(c echo.Context) error { return serve(c, client) })
	e.Match(methods, "/static/*", func(c echo.Context) error {
		// An exact lookup: no path cleaning, so "../" can never leave static/.
		a, ok := assets["static/"+c.Param("*")]
		if !ok {
			return echo.ErrNotFound
		}
		return serve(c, a)
	})
}

// load reads every embedded file once, with its content type and an ETag
// from its content (embedded files have no modification time).
func load(fsys fs.FS) (map[string]*asset, error) {
	out := make(map[string]*asset)
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		ctype, ok := contentType(path.Ext(name))
		if !ok {
			return fmt.Errorf("%s: no content type for %q", name, path.Ext(name))
		}
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return fmt.Errorf("read %s: %w", name, err)
		}
		sum := sha256.Sum256(data)
		out[name] = &asset{name: name, data: data, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load embedded files: %w", err)
	}
	for _, need := range []string{"pages/index.html", "pages/board.html", notFoundPage, clientModule} {
		if out[need] == nil {
			return nil, fmt.Errorf("load embedded files: %s is missing", need)
		}
	}
	return out, nil
}

// serve writes a with the page headers. Assets are not fingerprinted, so
// browsers revalidate each time (no-cache) and get a 304 while the binary
// is unchanged; ServeContent answers If-None-Match, HEAD and ranges.
func serve(c echo.Context, a *asset) error {
	pageHeaders(c, a)
	c.Response().Header().Set("ETag", a.etag)
	http.ServeContent(c.Response(), c.Request(), a.name, time.Time{}, bytes.NewReader(a.data))
	return nil
}

// serveNotFound answers 404 with page a (no ETag and no ranges: a paper
// created later at that address must not be hidden by a cached 404).
func serveNotFound(c echo.Context, a *asset) error {
	pageHeaders(c, a)
	c.Response().Header().Set("Content-Length", fmt.Sprint(len(a.data)))
	c.Response().WriteHeader(http.StatusNotFound)
	if c.Request().Method == http.MethodHead {
		return nil
	}
	_, err := c.Response().Write(a.data)
	return err
}

func pageHeaders(c echo.Context, a *asset) {
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, a.ctype)
	h.Set("Cache-Control", "no-cache")
	h.Set(echo.HeaderXContentTypeOptions, "nosniff")
	h.Set(echo.HeaderContentSecurityPolicy, csp(c.Request().Host))
	// The owner key lives in the URL fragment, which browsers never send;
	// no-referrer also keeps paper ids out of other sites' logs.
	h.Set("Referrer-Policy", "no-referrer")
	h.Set(echo.HeaderXFrameOptions, "DENY")
}

// csp allows the page's own scripts, styles and images, and network
// connections to its own origin only: REST through 'self' and the WebSocket
// through ws:// and wss:// of the same host (older browsers do not let
// 'self' cover ws:). No inline script or style is allowed, so injected
// markup cannot run. A Host header that is not a plain host[:port] gets
// only 'self' rather than being copied into the header.
func csp(host string) string {
	connect := "'self'"
	if validHost(host) {
		connect += " ws://" + host + " wss://" + host
	}
	return "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"connect-src " + connect + "; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
}

func validHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '.' || c == '-' || c == ':' || c == '[' || c == ']') {
			return false
		}
	}
	return true
}
