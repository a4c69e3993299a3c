package app_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/papercast/papercast/app"
	"github.com/papercast/papercast/internal/wstest"
)

func TestJWTModeTakesIdentityFromTheToken(t *testing.T) {
	const secret = "an-hmac-secret-of-at-least-32-bytes!"
	cfg := app.Defaults()
	cfg.Server.Addr = "127.0.0.1:0"
	cfg.Auth.JWT.HMACSecret = secret
	a := startApp(t, cfg)
	token := func(claims jwt.MapClaims) string {
		claims["exp"] = time.Now().Add(time.Hour).Unix()
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	anyPaper := token(jwt.MapClaims{"sub": "user-42", "name": "Ada"})

	req, _ := http.NewRequest(http.MethodPost, a.URL()+"/v1/papers", strings.NewReader(`{"title":"t"}`))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 401 {
		t.Fatalf("create without a token: %d", res.StatusCode)
	}
	req, _ = http.NewRequest(http.MethodPost, a.URL()+"/v1/papers", strings.NewReader(`{"title":"t"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+anyPaper)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 201 {
		t.Fatalf("create with a token: %d", res.StatusCode)
	}
	id := strings.TrimPrefix(res.Header.Get("Location"), "/v1/papers/")

	if _, res, err := wstest.Dial(t, a.URL(), id, wstest.Q("user", "mallory")); err == nil || res.StatusCode != 401 {
		t.Fatalf("session without a token: %v", err)
	}
	c := wstest.MustDial(t, a.URL(), id, wstest.Q("token", anyPaper, "user", "mallory", "name", "Mallory"))
	if f := c.First(); f.You.User != "user-42" || f.You.Name != "Ada" {
		t.Fatalf("identity from query params instead of the token: %+v", f.You)
	} else if f.You.Token != "" {
		// The client keeps you.token and sends it as ?token= on reconnect:
		// in JWT mode that must stay the app's JWT.
		t.Fatalf("JWT mode handed out a guest token: %s", f.Raw)
	}
	other := token(jwt.MapClaims{"sub": "u2", "papers": []string{"some-other-paper"}})
	if _, res, err := wstest.Dial(t, a.URL(), id, wstest.Q("token", other)); err == nil || res.StatusCode != 403 {
		t.Fatalf("token for another paper: %v", err)
	}
	if status, _ := get(t, a.URL()+"/v1/papers/"+id, other); status != 403 {
		t.Fatalf("GET with a token for another paper: %d", status)
	}
}
