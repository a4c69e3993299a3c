package docs_test

import (
	"strings"
	"testing"

	"go.uber.org/goleak"
	"go.yaml.in/yaml/v3"

	"github.com/papercast/papercast/docs"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestOpenAPIIsEmbeddedAndParses: the served document is the file, and it
// is OpenAPI 3.0 YAML whose every $ref resolves inside it.
func TestOpenAPIIsEmbeddedAndParses(t *testing.T) {
	var doc map[string]any
	if err := yaml.Unmarshal(docs.OpenAPI, &doc); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.0") {
		t.Fatalf("openapi = %v, want 3.0.x", doc["openapi"])
	}
	for _, k := range []string{"info", "paths", "components"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("openapi.yaml lacks %s", k)
		}
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok && !resolves(doc, ref) {
				t.Errorf("$ref %q does not resolve", ref)
			}
			for _, c := range v {
				walk(c)
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	walk(doc)
}

func resolves(doc map[string]any, ref string) bool {
	if !strings.HasPrefix(ref, "#/") {
		return false
	}
	var cur any = doc
	for _, part := range strings.Split(ref[2:], "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		if cur, ok = m[part]; !ok {
			return false
		}
	}
	return true
}

// TestEveryOperationDeclaresItsSecurity: a generated client learns which
// calls need a key from `security`, so every operation states it (an empty
// list for a public one), names only declared schemes, and an operation
// that can answer 401 needs some scheme while one whose every alternative
// needs a scheme documents the 401 it then gives.
func TestEveryOperationDeclaresItsSecurity(t *testing.T) {
	var doc struct {
		Paths      map[string]map[string]yaml.Node `yaml:"paths"`
		Components struct {
			SecuritySchemes map[string]any `yaml:"securitySchemes"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(docs.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	methods := map[string]bool{"get": true, "head": true, "post": true, "put": true, "patch": true, "delete": true, "options": true}
	n := 0
	for path, item := range doc.Paths {
		for method, node := range item {
			if !methods[method] {
				continue
			}
			n++
			name := strings.ToUpper(method) + " " + path
			var op struct {
				Security  *[]map[string][]string `yaml:"security"`
				Responses map[string]any         `yaml:"responses"`
			}
			if err := node.Decode(&op); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if op.Security == nil {
				t.Errorf("%s declares no security (use [] for a public operation)", name)
				continue
			}
			anonymous, keyed := len(*op.Security) == 0, false
			for _, req := range *op.Security {
				if len(req) == 0 {
					anonymous = true
				}
				for scheme := range req {
					keyed = true
					if _, ok := doc.Components.SecuritySchemes[scheme]; !ok {
						t.Errorf("%s names undeclared security scheme %q", name, scheme)
					}
				}
			}
			_, has401 := op.Responses["401"]
			if has401 && !keyed {
				t.Errorf("%s documents 401 but names no security scheme", name)
			}
			if !anonymous && !has401 {
				t.Errorf("%s always needs a key but documents no 401", name)
			}
		}
	}
	if n < 20 {
		t.Fatalf("only %d operations found", n)
	}
}
