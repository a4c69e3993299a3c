// Package admin is the operator's surface: a live page at /admin, the same
// figures as JSON at /admin/stats, and net/http/pprof under /debug/pprof
// when enabled. Everything is behind the admin token; without a token the
// routes answer 404 as if they did not exist.
//
// The page itself (/admin) holds no data and is served to anyone while
// admin is enabled, because a browser navigation cannot carry an
// Authorization header: the page asks for the token once, keeps it in
// sessionStorage and sends it as "Authorization: Bearer" with every poll.
// The token never goes into a URL, so it never reaches a log or a Referer.
package admin

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"net/http/pprof"
	"strings"

	"github.com/labstack/echo/v4"
)

// Paths of the admin surface.
const (
	PagePath  = "/admin"
	StatsPath = "/admin/stats"
	PprofPath = "/debug/pprof"
)

// Register mounts the admin routes on e. With an empty token every route
// answers 404; pprof routes answer 404 unless pprof is true. The routes are
// registered either way, so a catch-all route elsewhere (the board page)
// can never answer for them.
func Register(e *echo.Echo, token string, src Source, pprofOn bool) {
	enabled := token != ""
	guard := RequireToken(token)
	on := func(cond bool, h echo.HandlerFunc) echo.HandlerFunc {
		if !cond {
			return notFound
		}
		return h
	}

	e.GET(PagePath, on(enabled, servePage))
	e.GET(StatsPath, on(enabled, guard(serveStats(src))))

	pp := func(h http.HandlerFunc) echo.HandlerFunc {
		return on(enabled && pprofOn, guard(echo.WrapHandler(h)))
	}
	// pprof.Index serves the index and every named profile (heap,
	// goroutine, allocs, block, mutex, threadcreate) from the path after
	// /debug/pprof/; the four below are separate handlers.
	e.GET(PprofPath, on(enabled && pprofOn, func(c echo.Context) error {
		return c.Redirect(http.StatusMovedPermanently, PprofPath+"/")
	}))
	e.GET(PprofPath+"/*", pp(pprof.Index))
	e.GET(PprofPath+"/cmdline", pp(pprof.Cmdline))
	e.GET(PprofPath+"/profile", pp(pprof.Profile))
	e.GET(PprofPath+"/symbol", pp(pprof.Symbol))
	e.POST(PprofPath+"/symbol", pp(pprof.Symbol))
	e.GET(PprofPath+"/trace", pp(pprof.Trace))
}

func notFound(echo.Context) error { return echo.ErrNotFound }

// RequireToken checks "Authorization: Bearer <token>": 401 when it is
// missing or not a bearer token, 403 when the token is wrong. Both sides are
// hashed before the constant-time compare, so neither the token's content
// nor its length leaks through timing.
func RequireToken(token string) echo.MiddlewareFunc {
	want := sha256.Sum256([]byte(token))
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
			scheme, got, ok := strings.Cut(c.Request().Header.Get(echo.HeaderAuthorization), " ")
			got = strings.TrimSpace(got)
			if !ok || !strings.EqualFold(scheme, "Bearer") || got == "" {
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="papercast admin"`)
				return echo.NewHTTPError(http.StatusUnauthorized, "admin token required")
			}
			sum := sha256.Sum256([]byte(got))
			if subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
				return echo.NewHTTPError(http.StatusForbidden, "wrong admin token")
			}
			return next(c)
		}
	}
}

func serveStats(src Source) echo.HandlerFunc {
	return func(c echo.Context) error {
		scope := ScopeCluster
		switch c.QueryParam("scope") {
		case "", "cluster":
		case "self":
			scope = ScopeSelf
		default:
			return echo.NewHTTPError(http.StatusBadRequest, "scope must be self or cluster")
		}
		c.Response().Header().Set(echo.HeaderXContentTypeOptions, "nosniff")
		return c.JSON(http.StatusOK, src.Stats(c.Request().Context(), scope))
	}
}
