package rest_test

import (
	"net/http"
	"testing"

	"github.com/papercast/papercast/delivery/rest"
)

func TestOriginAllowed(t *testing.T) {
	allow := []string{"https://app.example.com", "http://partner.example:8443/"}
	cases := []struct {
		origin, host string
		allowed      []string
		dev          bool
		want         bool
	}{
		{"https://papercast.example", "papercast.example", nil, false, true},       // same host
		{"http://papercast.example", "papercast.example", nil, false, true},        // TLS terminated in front
		{"https://PaperCast.example", "papercast.example", nil, false, true},       // hosts are case-insensitive
		{"https://papercast.example:8443", "papercast.example", nil, false, false}, // other port, other origin
		{"https://evil.example", "papercast.example", nil, false, false},
		{"https://papercast.example.evil.example", "papercast.example", nil, false, false},
		{"https://app.example.com", "papercast.example", allow, false, true},
		{"https://APP.example.com", "papercast.example", allow, false, true},
		{"http://app.example.com", "papercast.example", allow, false, false}, // scheme matters in the list
		{"http://partner.example:8443", "papercast.example", allow, false, true},
		{"http://partner.example", "papercast.example", allow, false, false},
		{"https://evil.example", "papercast.example", []string{"*"}, false, true},
		{"http://localhost:5173", "papercast.example", nil, false, false},
		{"http://localhost:5173", "papercast.example", nil, true, true},
		{"http://127.0.0.1:3000", "papercast.example", nil, true, true},
		{"http://[::1]:3000", "papercast.example", nil, true, true},
		{"http://localhost.evil.example", "papercast.example", nil, true, false},
		{"", "papercast.example", nil, true, false},
		{"null", "papercast.example", []string{"*"}, true, false},
		{"file://", "papercast.example", nil, true, false},
		{"papercast.example", "papercast.example", nil, false, false},
		{"https://user@papercast.example", "papercast.example", nil, false, false},
		{"https://papercast.example/path", "papercast.example", nil, false, false},
		{"javascript:alert(1)", "papercast.example", []string{"*"}, true, false},
	}
	for _, tc := range cases {
		if got := rest.OriginAllowed(tc.origin, tc.host, tc.allowed, tc.dev); got != tc.want {
			t.Errorf("OriginAllowed(%q, %q, %v, %v) = %v, want %v", tc.origin, tc.host, tc.allowed, tc.dev, got, tc.want)
		}
	}
}

// TestCheckAllowedOriginRefusesEntriesThatNeverMatch: an allowed-origins
// entry OriginAllowed could never match is a config error, not a silent
// "nobody may connect".
func TestCheckAllowedOriginRefusesEntriesThatNeverMatch(t *testing.T) {
	cases := []struct {
		entry string
		ok    bool
	}{
		{"*", true},
		{"https://app.example.com", true},
		{"http://partner.example:8443/", true},
		{" https://app.example.com ", true},
		{"app.example.com", false},
		{"https://app.example.com/board", false},
		{"ftp://app.example.com", false},
		{"https://user@app.example.com", false},
		{"", false},
	}
	for _, tc := range cases {
		if err := rest.CheckAllowedOrigin(tc.entry); (err == nil) != tc.ok {
			t.Errorf("CheckAllowedOrigin(%q) = %v, want ok=%v", tc.entry, err, tc.ok)
		}
	}
}

func TestCORS(t *testing.T) {
	h := newHarness(t, rest.Options{AllowedOrigins: []string{"https://app.example.com"}})
	preflight := func(origin string) *http.Request {
		r := request(http.MethodOptions, "/v1/papers/paper1/finalize", "",
			"Origin: "+origin, "Access-Control-Request-Method: POST", "Access-Control-Request-Headers: authorization")
		r.Host = "papercast.example"
		return r
	}

	rec := h.do(preflight("https://app.example.com"))
	if rec.Code != http.StatusNoContent {
		t.Fatalf("allowed preflight: status %d", rec.Code)
	}
	if rec.Header().Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		rec.Header().Get("Access-Control-Allow-Methods") == "" ||
		rec.Header().Get("Access-Control-Allow-Headers") == "" {
		t.Errorf("allowed preflight headers %v", rec.Header())
	}
	if rec.Header().Get("Access-Control-Allow-Credentials") != "" {
		t.Error("credentials allowed; the API uses no cookies")
	}

	rec = h.do(preflight("https://evil.example"))
	if rec.Header().Get("Access-Control-Allow-Origin") != "" || rec.Header().Get("Access-Control-Allow-Headers") != "" {
		t.Errorf("disallowed preflight got CORS headers %v", rec.Header())
	}

	get := request(http.MethodGet, "/v1/papers/paper1", "", "Origin: https://app.example.com")
	rec = h.do(get)
	if rec.Code != http.StatusOK || rec.Header().Get("Access-Control-Allow-Origin") != "https://app.example.com" {
		t.Errorf("allowed GET: status %d ACAO %q", rec.Code, rec.Header().Get("Access-Control-Allow-Origin"))
	}
	if rec.Header().Get("Access-Control-Expose-Headers") == "" {
		t.Error("ETag and Location not exposed to the allowed origin")
	}
	rec = h.do(request(http.MethodGet, "/v1/papers/paper1", "", "Origin: https://evil.example"))
	if rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Error("disallowed origin may read the response")
	}

	same := request(http.MethodGet, "/v1/papers/paper1", "", "Origin: https://papercast.example")
	same.Host = "papercast.example"
	if rec := h.do(same); rec.Header().Get("Access-Control-Allow-Origin") != "https://papercast.example" {
		t.Error("same-host origin refused")
	}
	if rec := h.do(request(http.MethodGet, "/v1/papers/paper1", "", "Origin: http://localhost:5173")); rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Error("localhost allowed without dev")
	}

	dev := newHarness(t, rest.Options{Dev: true})
	if rec := dev.do(request(http.MethodGet, "/v1/papers/paper1", "", "Origin: http://localhost:5173")); rec.Header().Get("Access-Control-Allow-Origin") != "http://localhost:5173" {
		t.Error("localhost refused in dev")
	}
}
