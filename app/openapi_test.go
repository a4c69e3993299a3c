package app_test

import (
	"context"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/papercast/papercast/app"
	"github.com/papercast/papercast/docs"
)

// TestEveryRouteIsInTheSpec walks the whole replica's routes (REST, the
// WebSocket, the board pages, metrics, admin and pprof) against
// docs/openapi.yaml, both ways.
func TestEveryRouteIsInTheSpec(t *testing.T) {
	cfg := app.Defaults()
	cfg.Server.Addr = "127.0.0.1:0"
	a, err := app.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = a.Shutdown(context.Background()) }()

	var spec struct {
		Paths map[string]map[string]yaml.Node `yaml:"paths"`
	}
	if err := yaml.Unmarshal(docs.OpenAPI, &spec); err != nil {
		t.Fatal(err)
	}
	methods := map[string]bool{"get": true, "head": true, "post": true, "put": true, "patch": true, "delete": true, "options": true}
	inSpec := map[string]bool{}
	for path, item := range spec.Paths {
		for m := range item {
			if methods[m] {
				inSpec[strings.ToUpper(m)+" "+path] = true
			}
		}
	}
	param := regexp.MustCompile(`:([A-Za-z0-9_]+)`)
	routed := map[string]bool{}
	for _, r := range a.Routes() {
		if !methods[strings.ToLower(r.Method)] {
			continue // echo's internal not-found routes
		}
		path := param.ReplaceAllString(r.Path, "{$1}")
		path = strings.Replace(path, "*", "{path}", 1)
		if strings.HasPrefix(path, "/debug/pprof/") {
			path = "/debug/pprof/{path}" // pprof's fixed profiles are documented by its wildcard
		}
		op := r.Method + " " + path
		routed[op] = true
		if !inSpec[op] {
			t.Errorf("route %s is not in docs/openapi.yaml", op)
		}
	}
	for op := range inSpec {
		if !routed[op] {
			t.Errorf("docs/openapi.yaml has %s, which no route serves", op)
		}
	}
}
