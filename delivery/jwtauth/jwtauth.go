// Package jwtauth verifies the HS256 tokens that the app's main backend
// issues when papercast runs in JWT mode: identity comes from the token's
// `sub` and `name` claims, and an optional `papers` claim limits which papers
// the token may open.
package jwtauth

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/labstack/echo/v4"

	"github.com/papercast/papercast/domain"
)

// Claims are what papercast reads from a token.
type Claims struct {
	Name string `json:"name,omitempty"`
	// Papers, when present, lists the only paper ids the token may open.
	Papers []string `json:"papers,omitempty"`
	jwt.RegisteredClaims
}

// MayOpen reports whether the token allows the paper.
func (c *Claims) MayOpen(paperID string) bool {
	return c.Papers == nil || slices.Contains(c.Papers, paperID)
}

// Verifier checks tokens signed with one shared HMAC secret.
type Verifier struct {
	secret []byte
	parser *jwt.Parser
}

// New returns a verifier; secret must be at least 32 bytes.
func New(secret string) (*Verifier, error) {
	if len(secret) < 32 {
		return nil, fmt.Errorf("the HMAC secret must be at least 32 bytes, got %d", len(secret))
	}
	return &Verifier{
		secret: []byte(secret),
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{"HS256", "HS384", "HS512"}),
			jwt.WithExpirationRequired(),
			jwt.WithLeeway(30*time.Second),
		),
	}, nil
}

// Token returns the request's token: the `token` query param, or an
// `Authorization: Bearer` value shaped like a JWT (an owner key never is).
func Token(r *http.Request) string {
	if t := r.URL.Query().Get("token"); t != "" {
		return t
	}
	auth := r.Header.Get("Authorization")
	if len(auth) > 7 && strings.EqualFold(auth[:7], "bearer ") {
		if t := strings.TrimSpace(auth[7:]); strings.Count(t, ".") == 2 {
			return t
		}
	}
	return ""
}

// Verify checks the request's token and returns its claims. Errors wrap
// domain.ErrUnauthorized; they never contain the token.
func (v *Verifier) Verify(r *http.Request) (*Claims, error) {
	raw := Token(r)
	if raw == "" {
		return nil, fmt.Errorf("%w: a token is required (Authorization: Bearer or ?token=)", domain.ErrUnauthorized)
	}
	var c Claims
	if _, err := v.parser.ParseWithClaims(raw, &c, func(*jwt.Token) (any, error) { return v.secret, nil }); err != nil {
		return nil, fmt.Errorf("%w: invalid token", domain.ErrUnauthorized)
	}
	if c.Subject == "" {
		return nil, fmt.Errorf("%w: the token has no sub claim", domain.ErrUnauthorized)
	}
	return &c, nil
}

// VerifyPaper is Verify plus the papers claim for one paper.
func (v *Verifier) VerifyPaper(r *http.Request, paperID string) (*Claims, error) {
	c, err := v.Verify(r)
	if err != nil {
		return nil, err
	}
	if !c.MayOpen(paperID) {
		return nil, fmt.Errorf("%w: the token does not allow this paper", domain.ErrForbidden)
	}
	return c, nil
}

// Middleware requires a valid token on every REST route under /v1/papers
// (the WebSocket route checks its own, through Verify, before upgrading).
func (v *Verifier) Middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			path := c.Path()
			if !strings.HasPrefix(path, "/v1/papers") || strings.HasSuffix(path, "/ws") {
				return next(c)
			}
			if id := c.Param("id"); id != "" {
				if _, err := v.VerifyPaper(c.Request(), id); err != nil {
					return err
				}
				return next(c)
			}
			if _, err := v.Verify(c.Request()); err != nil {
				return err
			}
			return next(c)
		}
	}
}
