package rest_test

import (
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"go.yaml.in/yaml/v3"

	"github.com/papercast/papercast/delivery/rest"
	"github.com/papercast/papercast/docs"
	"github.com/papercast/papercast/protocol"
)

// spec is the part of docs/openapi.yaml the route tests read.
type spec struct {
	OpenAPI string                          `yaml:"openapi"`
	Paths   map[string]map[string]yaml.Node `yaml:"paths"`
	ops     map[string]specOperation
}

type specOperation struct {
	Responses map[string]any `yaml:"responses"`
}

var httpMethods = map[string]bool{"get": true, "put": true, "post": true, "delete": true, "options": true, "head": true, "patch": true, "trace": true}

func loadSpec(t *testing.T) spec {
	t.Helper()
	var s spec
	if err := yaml.Unmarshal(docs.OpenAPI, &s); err != nil {
		t.Fatalf("docs/openapi.yaml: %v", err)
	}
	if !strings.HasPrefix(s.OpenAPI, "3.0") {
		t.Fatalf("openapi version %q, want 3.0.x", s.OpenAPI)
	}
	s.ops = map[string]specOperation{}
	for path, item := range s.Paths {
		for method, node := range item {
			if !httpMethods[method] {
				continue // "parameters", "summary", ...
			}
			var op specOperation
			if err := node.Decode(&op); err != nil {
				t.Fatalf("docs/openapi.yaml %s %s: %v", method, path, err)
			}
			if len(op.Responses) == 0 {
				t.Errorf("docs/openapi.yaml %s %s has no responses", method, path)
			}
			s.ops[strings.ToUpper(method)+" "+path] = op
		}
	}
	return s
}

// operations maps "METHOD /path" to every operation in the spec.
func (s spec) operations() map[string]specOperation { return s.ops }

// documents reports whether the spec lists status for the operation.
func (s spec) documents(op string, status int) bool {
	o, ok := s.operations()[op]
	if !ok {
		return false
	}
	_, ok = o.Responses[strconv.Itoa(status)]
	if !ok {
		_, ok = o.Responses["default"]
	}
	return ok
}

var echoParam = regexp.MustCompile(`:([A-Za-z0-9_]+)`)

// TestOpenAPIMatchesRoutes: every route of the server is in the spec, and
// every operation of the spec is routed. The WebSocket route is registered
// by delivery/ws on the same echo; a stand-in takes its place here.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	h := newHarness(t, rest.Options{})
	h.e.GET("/v1/papers/:id/ws", func(c echo.Context) error { return c.NoContent(http.StatusSwitchingProtocols) })
	s := loadSpec(t)
	specOps := s.operations()

	routed := map[string]bool{}
	for _, r := range h.e.Routes() {
		if r.Method == echo.RouteNotFound || !httpMethods[strings.ToLower(r.Method)] {
			continue // echo internals
		}
		op := r.Method + " " + echoParam.ReplaceAllString(r.Path, "{$1}")
		routed[op] = true
		if _, ok := specOps[op]; !ok {
			t.Errorf("route %s is not in docs/openapi.yaml", op)
		}
	}
	var ops []string
	for op := range specOps {
		ops = append(ops, op)
		if !restOp(op) {
			continue // served by the app's other packages; app checks those
		}
		if !routed[op] {
			t.Errorf("docs/openapi.yaml has %s, which no route serves", op)
		}
	}
	sort.Strings(ops)
	if len(ops) < 8 {
		t.Errorf("spec has only %d operations: %v", len(ops), ops)
	}
}

// restOp reports whether this package serves the operation (the spec also
// documents the board pages, /metrics, /admin and pprof, which the app wires).
func restOp(op string) bool {
	path := op[strings.IndexByte(op, ' ')+1:]
	return strings.HasPrefix(path, "/v1/") || path == "/healthz" || path == "/readyz"
}

// TestOpenAPIIsServed: GET /v1/openapi.yaml is exactly the embedded file.
func TestOpenAPIIsServed(t *testing.T) {
	h := newHarness(t, rest.Options{})
	rec := h.do(request(http.MethodGet, "/v1/openapi.yaml", ""))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/yaml" {
		t.Errorf("Content-Type %q", ct)
	}
	if rec.Body.String() != string(docs.OpenAPI) {
		t.Error("served document differs from docs/openapi.yaml")
	}
}

// TestOpenAPIListsEveryRESTErrorCode: the Error schema's code enum is the
// REST codes of protocol's one table, no more, no fewer.
func TestOpenAPIListsEveryRESTErrorCode(t *testing.T) {
	var doc struct {
		Components struct {
			Schemas struct {
				Error struct {
					Properties struct {
						Error struct {
							Properties struct {
								Code struct {
									Enum []string `yaml:"enum"`
								} `yaml:"code"`
							} `yaml:"properties"`
						} `yaml:"error"`
					} `yaml:"properties"`
				} `yaml:"Error"`
			} `yaml:"schemas"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(docs.OpenAPI, &doc); err != nil {
		t.Fatalf("docs/openapi.yaml: %v", err)
	}
	got := doc.Components.Schemas.Error.Properties.Error.Properties.Code.Enum
	var want []string
	for _, e := range protocol.Errors {
		if e.REST {
			want = append(want, e.Code)
		}
	}
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("openapi Error.code enum %v, protocol's REST codes %v", got, want)
	}
}
