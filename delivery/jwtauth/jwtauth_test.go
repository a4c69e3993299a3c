package jwtauth

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/labstack/echo/v4"
	"go.uber.org/goleak"

	"github.com/papercast/papercast/domain"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const secret = "0123456789abcdef0123456789abcdef"

func sign(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestVerify(t *testing.T) {
	v, err := New(secret)
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(time.Hour).Unix()
	good := sign(t, jwt.SigningMethodHS256, []byte(secret), jwt.MapClaims{"sub": "u1", "name": "Ada", "exp": exp, "papers": []string{"p1"}})
	tests := []struct {
		name    string
		header  string
		query   string
		paper   string
		want    error
		wantSub string
	}{
		{"header", "Bearer " + good, "", "p1", nil, "u1"},
		{"query", "", good, "p1", nil, "u1"},
		{"missing", "", "", "p1", domain.ErrUnauthorized, ""},
		{"owner key is not a token", "Bearer abcdefghijklmnop", "", "p1", domain.ErrUnauthorized, ""},
		{"paper not allowed", "Bearer " + good, "", "p2", domain.ErrForbidden, ""},
		{"wrong secret", "Bearer " + sign(t, jwt.SigningMethodHS256, []byte("another-secret-another-secret-xx"), jwt.MapClaims{"sub": "u", "exp": exp}), "", "p1", domain.ErrUnauthorized, ""},
		{"expired", "Bearer " + sign(t, jwt.SigningMethodHS256, []byte(secret), jwt.MapClaims{"sub": "u", "exp": time.Now().Add(-time.Hour).Unix()}), "", "p1", domain.ErrUnauthorized, ""},
		{"no exp", "Bearer " + sign(t, jwt.SigningMethodHS256, []byte(secret), jwt.MapClaims{"sub": "u"}), "", "p1", domain.ErrUnauthorized, ""},
		{"no sub", "Bearer " + sign(t, jwt.SigningMethodHS256, []byte(secret), jwt.MapClaims{"exp": exp}), "", "p1", domain.ErrUnauthorized, ""},
		{"alg none", "Bearer " + sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, jwt.MapClaims{"sub": "u", "exp": exp}), "", "p1", domain.ErrUnauthorized, ""},
		{"no papers claim allows all", "Bearer " + sign(t, jwt.SigningMethodHS256, []byte(secret), jwt.MapClaims{"sub": "u2", "exp": exp}), "", "any", nil, "u2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/v1/papers/"+tt.paper+"?token="+tt.query, nil)
			if tt.query == "" {
				r = httptest.NewRequest(http.MethodGet, "/v1/papers/"+tt.paper, nil)
			}
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			c, err := v.VerifyPaper(r, tt.paper)
			if tt.want != nil {
				if !errors.Is(err, tt.want) {
					t.Fatalf("err = %v, want %v", err, tt.want)
				}
				return
			}
			if err != nil || c.Subject != tt.wantSub {
				t.Fatalf("claims %+v, err %v", c, err)
			}
		})
	}
}

func TestShortSecretRefused(t *testing.T) {
	if _, err := New("short"); err == nil {
		t.Fatal("accepted a short secret")
	}
}

func TestMiddleware(t *testing.T) {
	v, _ := New(secret)
	e := echo.New()
	e.Use(v.Middleware())
	ok := func(c echo.Context) error { return c.NoContent(204) }
	e.POST("/v1/papers", ok)
	e.GET("/v1/papers/:id", ok)
	e.GET("/v1/papers/:id/ws", ok)
	e.GET("/healthz", ok)
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		switch {
		case errors.Is(err, domain.ErrUnauthorized):
			_ = c.NoContent(401)
		case errors.Is(err, domain.ErrForbidden):
			_ = c.NoContent(403)
		default:
			_ = c.NoContent(500)
		}
	}
	tok := sign(t, jwt.SigningMethodHS256, []byte(secret), jwt.MapClaims{"sub": "u", "exp": time.Now().Add(time.Hour).Unix(), "papers": []string{"p1"}})
	tests := []struct {
		method, path, token string
		want                int
	}{
		{"POST", "/v1/papers", "", 401},
		{"POST", "/v1/papers", tok, 204},
		{"GET", "/v1/papers/p1", tok, 204},
		{"GET", "/v1/papers/p2", tok, 403},
		{"GET", "/v1/papers/p2/ws", "", 204}, // the ws handler checks its own
		{"GET", "/healthz", "", 204},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(tt.method, tt.path, nil)
		if tt.token != "" {
			r.Header.Set("Authorization", "Bearer "+tt.token)
		}
		w := httptest.NewRecorder()
		e.ServeHTTP(w, r)
		if w.Code != tt.want {
			t.Errorf("%s %s: %d, want %d", tt.method, tt.path, w.Code, tt.want)
		}
	}
}
