package app_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/papercast/papercast/app"
	"github.com/papercast/papercast/internal/redistest"
	"github.com/papercast/papercast/internal/wstest"
)

func get(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestOperatorEndpoints(t *testing.T) {
	cfg := app.Defaults()
	cfg.Server.Addr = "127.0.0.1:0"
	cfg.Admin.Token = "admin-secret"
	a := startApp(t, cfg)
	p := wstest.CreatePaper(t, a.URL())
	c := wstest.MustDial(t, a.URL(), p.ID, nil)
	c.First()
	c.Send(wstest.Upsert("a", "n1", map[string]any{"text": "hi"}))
	c.Next(wstest.OfType("ack"))
	tests := []struct {
		path, token string
		status      int
		contains    string
	}{
		{"/metrics", "", 401, `"unauthorized"`},
		{"/metrics", "wrong", 403, `"forbidden"`},
		{"/metrics", "admin-secret", 200, `papercast_ops_total{result="ok",type="upsert"} 1`},
		{"/metrics", "admin-secret", 200, "papercast_sessions 1"},
		{"/metrics", "admin-secret", 200, "go_goroutines"},
		{"/admin/stats", "", 401, `"unauthorized"`},
		{"/admin/stats", "admin-secret", 200, `"sessions":1`},
		{"/admin/stats", "admin-secret", 200, `"series":{"interval_seconds":5,"window_seconds":900,`},
		{"/", "", 200, "<html"},
		{"/p/" + p.ID, "", 200, "<html"},
		{"/v1/openapi.yaml", "", 200, "openapi: 3"},
	}
	for _, tt := range tests {
		status, body := get(t, a.URL()+tt.path, tt.token)
		if status != tt.status || !strings.Contains(body, tt.contains) {
			t.Errorf("GET %s (token %q): %d, want %d containing %q; body %.300s", tt.path, tt.token, status, tt.status, tt.contains, body)
		}
	}
}

func TestRedisMetrics(t *testing.T) {
	srv := redistest.Start(t)
	cfg := replicaConfig([]string{srv.Addr()}, "standalone", "m:")
	a := startApp(t, cfg)
	p := wstest.CreatePaper(t, a.URL())
	c := wstest.MustDial(t, a.URL(), p.ID, nil)
	c.First()
	c.Send(wstest.Upsert("a", "n1", map[string]any{"text": "hi"}))
	c.Next(wstest.OfType("ack"))
	_, body := get(t, a.URL()+"/metrics", "")
	for _, want := range []string{`papercast_redis_command_duration_seconds_count{command="apply"} 1`, `papercast_redis_command_duration_seconds_count{command="create"} 1`, "papercast_pubsub_resubscribes_total 0"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q; has:\n%s", want, grepLines(body, "papercast_redis"))
		}
	}
}

func grepLines(body, prefix string) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestPaperCreationIsRateLimitedPerAddress(t *testing.T) {
	cfg := app.Defaults()
	cfg.Server.Addr = "127.0.0.1:0"
	cfg.Limits.CreatesPerMinute = 1
	cfg.Limits.CreatesBurst = 3
	a := startApp(t, cfg)
	var codes []int
	for i := 0; i < 5; i++ {
		res, err := http.Post(a.URL()+"/v1/papers", "application/json", strings.NewReader(`{"title":"t"}`))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		codes = append(codes, res.StatusCode)
		if res.StatusCode == 429 && !strings.Contains(string(body), `"rate_limited"`) {
			t.Fatalf("429 body: %s", body)
		}
	}
	if fmt.Sprint(codes) != "[201 201 201 429 429]" {
		t.Fatalf("statuses %v", codes)
	}
	if status, _ := get(t, a.URL()+"/healthz", ""); status != 200 {
		t.Fatal("reads were limited too")
	}
}
