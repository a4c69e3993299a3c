package rest

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"
)

// OriginAllowed is the one origin rule of the server, shared by CORS for
// REST and the WebSocket upgrade (browsers send Origin on both, and a
// WebSocket is not protected by CORS at all, so the rule must be the same).
//
// host is the request's Host header. An origin is allowed when:
//   - it is in allowed (scheme://host[:port], compared case-insensitively;
//     the entry "*" allows every origin), or
//   - its host[:port] is the request's own host (the page was served by
//     this server, whatever the TLS terminator did to the scheme), or
//   - dev is set and its host is localhost, 127.0.0.1 or ::1 (any port).
//
// A missing, "null" or malformed origin is never allowed.
func OriginAllowed(origin, host string, allowed []string, dev bool) bool {
	if origin == "" || origin == "null" {
		return false
	}
	u, ok := parseOrigin(origin)
	if !ok {
		return false
	}
	norm := strings.ToLower(u.Scheme + "://" + u.Host)
	for _, a := range allowed {
		a = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(a), "/"))
		if a == "*" || a == norm {
			return true
		}
	}
	if host != "" && strings.EqualFold(u.Host, host) {
		return true
	}
	if dev {
		switch strings.ToLower(u.Hostname()) {
		case "localhost", "127.0.0.1", "::1":
			return true
		}
		if ip := net.ParseIP(u.Hostname()); ip != nil && ip.IsLoopback() {
			return true
		}
	}
	return false
}

// CORS headers of REST v1. The owner key travels in Authorization, which a
// cross-origin request may send once the preflight allows the header;
// cookies are never used, so credentials stay off.
const (
	corsMethods = "GET, POST, PATCH, DELETE, OPTIONS"
	corsHeaders = "Authorization, Content-Type, If-None-Match, X-Owner-Key, X-Request-Id"
	corsExpose  = "ETag, Location, X-Request-Id"
	corsMaxAge  = "600"
)

// cors answers preflights and marks responses readable for allowed origins.
// A disallowed origin simply gets no CORS headers, so the browser hides the
// response (and, since every write needs a preflight, never sends the write).
func cors(allowed []string, dev bool) echo.MiddlewareFunc {
	allowed = append([]string(nil), allowed...)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			h := c.Response().Header()
			h.Add(echo.HeaderVary, echo.HeaderOrigin)
			origin := req.Header.Get(echo.HeaderOrigin)
			preflight := req.Method == http.MethodOptions && req.Header.Get(echo.HeaderAccessControlRequestMethod) != ""
			if origin == "" || !OriginAllowed(origin, req.Host, allowed, dev) {
				if preflight {
					return c.NoContent(http.StatusNoContent)
				}
				return next(c)
			}
			h.Set(echo.HeaderAccessControlAllowOrigin, origin)
			if !preflight {
				h.Set(echo.HeaderAccessControlExposeHeaders, corsExpose)
				return next(c)
			}
			h.Add(echo.HeaderVary, echo.HeaderAccessControlRequestMethod)
			h.Add(echo.HeaderVary, echo.HeaderAccessControlRequestHeaders)
			h.Set(echo.HeaderAccessControlAllowMethods, corsMethods)
			h.Set(echo.HeaderAccessControlAllowHeaders, corsHeaders)
			h.Set(echo.HeaderAccessControlMaxAge, corsMaxAge)
			return c.NoContent(http.StatusNoContent)
		}
	}
}

// parseOrigin parses a browser origin: http(s)://host[:port], nothing else.
func parseOrigin(origin string) (*url.URL, bool) {
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return nil, false
	}
	return u, true
}

// CheckAllowedOrigin reports an allowed-origins entry that could never match
// a browser's Origin: it must be "*" or scheme://host[:port].
func CheckAllowedOrigin(entry string) error {
	entry = strings.TrimSpace(entry)
	if entry == "*" {
		return nil
	}
	if _, ok := parseOrigin(entry); !ok {
		return fmt.Errorf("%q is not an origin (http(s)://host[:port], or *)", entry)
	}
	return nil
}
