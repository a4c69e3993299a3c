package rest_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/papercast/papercast/delivery/rest"
	"github.com/papercast/papercast/domain"
)

// apiCase is one request against a fresh server. op names the spec
// operation ("METHOD /path") whose documented responses must include the
// status; it is empty for requests no route serves.
type apiCase struct {
	name     string
	op       string
	setup    func(f *fakeService)
	req      func() *http.Request
	status   int
	code     string // error code, for error statuses
	check    func(t *testing.T, rec *httptest.ResponseRecorder, f *fakeService)
	noCreate bool // the request must not have created a paper
}

func runCases(t *testing.T, cases []apiCase) {
	t.Helper()
	s := loadSpec(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, rest.Options{})
			if tc.setup != nil {
				tc.setup(h.f)
			}
			rec := h.do(tc.req())
			if rec.Code != tc.status {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tc.status, rec.Body)
			}
			if tc.code != "" {
				if got := errorCode(t, rec); got != tc.code {
					t.Errorf("error code = %q, want %q", got, tc.code)
				}
			}
			if strings.Contains(rec.Body.String(), "goroutine ") || strings.Contains(rec.Body.String(), ".go:") {
				t.Errorf("body looks like a stack trace: %s", rec.Body)
			}
			if rec.Header().Get(echo.HeaderXRequestID) == "" {
				t.Error("no X-Request-Id on the response")
			}
			if tc.noCreate && h.f.creates != 0 {
				t.Errorf("%d papers created, want none", h.f.creates)
			}
			if tc.op != "" && !s.documents(tc.op, tc.status) {
				t.Errorf("docs/openapi.yaml does not document %d for %s", tc.status, tc.op)
			}
			if tc.check != nil {
				tc.check(t, rec, h.f)
			}
		})
	}
}

const (
	opCreate   = "POST /v1/papers"
	opGet      = "GET /v1/papers/{id}"
	opDelete   = "DELETE /v1/papers/{id}"
	opFinalize = "POST /v1/papers/{id}/finalize"
	opPatch    = "PATCH /v1/papers/{id}"
	opBan      = "POST /v1/papers/{id}/bans"
	opUnban    = "DELETE /v1/papers/{id}/bans/{user}"
)

func decodeObject(t *testing.T, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("body %q: %v", rec.Body, err)
	}
	return m
}

func TestCreatePaper(t *testing.T) {
	post := func(body string, headers ...string) func() *http.Request {
		return func() *http.Request { return request(http.MethodPost, "/v1/papers", body, headers...) }
	}
	runCases(t, []apiCase{
		{name: "created with owner key and location", op: opCreate, status: http.StatusCreated,
			req: post(`{"title":"Happy birthday","to":"Ana"}`, jsonCT),
			check: func(t *testing.T, rec *httptest.ResponseRecorder, f *fakeService) {
				m := decodeObject(t, rec)
				want := map[string]any{"id": "new1", "title": "Happy birthday", "to": "Ana", "status": "open",
					"seq": 0.0, "epoch": "epN", "createdAt": "2026-11-25T18:39:38Z", "edit": "authors", "ownerKey": "owner-new1-s3cret"}
				for k, v := range want {
					if m[k] != v {
						t.Errorf("%s = %v, want %v", k, m[k], v)
					}
				}
				if len(m) != len(want) {
					t.Errorf("body has keys %v, want exactly %v", m, want)
				}
				if loc := rec.Header().Get("Location"); loc != "/v1/papers/new1" {
					t.Errorf("Location = %q", loc)
				}
				if f.creates != 1 {
					t.Errorf("creates = %d", f.creates)
				}
			}},
		{name: "charset parameter is fine", op: opCreate, status: http.StatusCreated,
			req: post(`{"title":"t"}`, "Content-Type: application/json; charset=utf-8")},
		{name: "unknown fields are ignored", op: opCreate, status: http.StatusCreated,
			req: post(`{"title":"t","theme":{"color":"red"},"extra":[1,2]}`, jsonCT)},
		{name: "to may be null", op: opCreate, status: http.StatusCreated,
			req: post(`{"title":"t","to":null}`, jsonCT)},
		{name: "open edit policy", op: opCreate, status: http.StatusCreated,
			req: post(`{"title":"t","edit":"open"}`, jsonCT),
			check: func(t *testing.T, rec *httptest.ResponseRecorder, _ *fakeService) {
				if m := decodeObject(t, rec); m["edit"] != "open" {
					t.Errorf("edit = %v, want open", m["edit"])
				}
			}},
		{name: "authors edit policy", op: opCreate, status: http.StatusCreated,
			req: post(`{"title":"t","edit":"authors"}`, jsonCT)},
		{name: "unknown edit policy", op: opCreate, status: http.StatusBadRequest, code: "invalid", noCreate: true,
			req: post(`{"title":"t","edit":"everyone"}`, jsonCT)},
		{name: "edit policy of wrong type", op: opCreate, status: http.StatusBadRequest, code: "invalid", noCreate: true,
			req: post(`{"title":"t","edit":true}`, jsonCT)},
		{name: "keys are case-sensitive", op: opCreate, status: http.StatusBadRequest, code: "invalid", noCreate: true,
			req: post(`{"Title":"t"}`, jsonCT)},
		{name: "missing content type", op: opCreate, status: http.StatusUnsupportedMediaType, code: "unsupported", noCreate: true,
			req: post(`{"title":"t"}`)},
		{name: "text/plain content type", op: opCreate, status: http.StatusUnsupportedMediaType, code: "unsupported", noCreate: true,
			req: post(`{"title":"t"}`, "Content-Type: text/plain")},
		{name: "form content type", op: opCreate, status: http.StatusUnsupportedMediaType, code: "unsupported", noCreate: true,
			req: post(`title=t`, "Content-Type: application/x-www-form-urlencoded")},
		{name: "malformed JSON", op: opCreate, status: http.StatusBadRequest, code: "invalid", noCreate: true,
			req: post(`{"title":"t"`, jsonCT)},
		{name: "empty body", op: opCreate, status: http.StatusBadRequest, code: "invalid", noCreate: true,
			req: post(``, jsonCT)},
		{name: "trailing data", op: opCreate, status: http.StatusBadRequest, code: "invalid", noCreate: true,
			req: post(`{"title":"t"} {"title":"u"}`, jsonCT)},
		{name: "array body", op: opCreate, status: http.StatusBadRequest, code: "invalid", noCreate: true,
			req: post(`[{"title":"t"}]`, jsonCT)},
		{name: "title of wrong type", op: opCreate, status: http.StatusBadRequest, code: "invalid", noCreate: true,
			req: post(`{"title":5}`, jsonCT)},
		{name: "to of wrong type", op: opCreate, status: http.StatusBadRequest, code: "invalid", noCreate: true,
			req: post(`{"title":"t","to":["Ana"]}`, jsonCT)},
		{name: "missing title", op: opCreate, status: http.StatusBadRequest, code: "invalid", noCreate: true,
			req: post(`{"to":"Ana"}`, jsonCT)},
		{name: "empty title", op: opCreate, status: http.StatusBadRequest, code: "invalid", noCreate: true,
			req: post(`{"title":""}`, jsonCT)},
		{name: "title too long", op: opCreate, status: http.StatusBadRequest, code: "invalid", noCreate: true,
			req: post(`{"title":"`+strings.Repeat("x", 201)+`"}`, jsonCT)},
		{name: "invalid UTF-8", op: opCreate, status: http.StatusBadRequest, code: "invalid", noCreate: true,
			req: post("{\"title\":\"\xff\xfe\"}", jsonCT)},
		{name: "body over the limit", op: opCreate, status: http.StatusRequestEntityTooLarge, code: "too_large", noCreate: true,
			req: post(`{"title":"t","pad":"`+strings.Repeat("x", rest.DefaultBodyLimit)+`"}`, jsonCT)},
		{name: "body over the limit without Content-Length", op: opCreate, status: http.StatusRequestEntityTooLarge, code: "too_large", noCreate: true,
			req: func() *http.Request {
				r := request(http.MethodPost, "/v1/papers", `{"title":"t","pad":"`+strings.Repeat("x", rest.DefaultBodyLimit)+`"}`, jsonCT)
				r.ContentLength = -1
				return r
			}},
		{name: "store unavailable hides its cause", op: opCreate, status: http.StatusServiceUnavailable, code: "unavailable",
			setup: func(f *fakeService) {
				f.err = fmt.Errorf("create paper: %w: dial tcp 10.1.2.3:6379: connection refused", domain.ErrUnavailable)
			},
			req: post(`{"title":"t"}`, jsonCT),
			check: func(t *testing.T, rec *httptest.ResponseRecorder, _ *fakeService) {
				if strings.Contains(rec.Body.String(), "10.1.2.3") {
					t.Errorf("body leaks the cause: %s", rec.Body)
				}
			}},
	})
}

func TestCreateBodyLimitIsConfigurable(t *testing.T) {
	h := newHarness(t, rest.Options{BodyLimit: 64})
	fits := `{"title":"t","pad":"` + strings.Repeat("x", 64-len(`{"title":"t","pad":""}`)) + `"}`
	if len(fits) != 64 {
		t.Fatalf("test body is %d bytes", len(fits))
	}
	if rec := h.do(request(http.MethodPost, "/v1/papers", fits, jsonCT)); rec.Code != http.StatusCreated {
		t.Fatalf("64-byte body: status %d, body %s", rec.Code, rec.Body)
	}
	rec := h.do(request(http.MethodPost, "/v1/papers", fits+" ", jsonCT))
	if rec.Code != http.StatusRequestEntityTooLarge || errorCode(t, rec) != "too_large" {
		t.Fatalf("65-byte body: status %d, body %s", rec.Code, rec.Body)
	}
}

func TestGetPaper(t *testing.T) {
	get := func(path string, headers ...string) func() *http.Request {
		return func() *http.Request { return request(http.MethodGet, path, "", headers...) }
	}
	notModified := func(t *testing.T, rec *httptest.ResponseRecorder, _ *fakeService) {
		if rec.Body.Len() != 0 {
			t.Errorf("304 with a body: %s", rec.Body)
		}
		if rec.Header().Get("ETag") != `"ep1-3"` {
			t.Errorf("ETag = %q", rec.Header().Get("ETag"))
		}
	}
	runCases(t, []apiCase{
		{name: "document with elements in order", op: opGet, status: http.StatusOK, req: get("/v1/papers/paper1"),
			check: func(t *testing.T, rec *httptest.ResponseRecorder, _ *fakeService) {
				want := `{"id":"paper1","title":"Happy birthday \u003cAna\u003e","to":"Ana","status":"open","seq":3,"epoch":"ep1",` +
					`"createdAt":"2026-11-25T18:39:38Z","edit":"authors","elements":[` +
					`{"id":"n2","by":{"user":"u7","name":"Ben \u003c3"},"createdAt":"2026-11-25T18:40:38Z","tags":["a",{"b":null}],"text":"<b>hi</b> & \u00e9","x":1.50},` +
					`{"id":"n1","by":{"user":"u42"},"createdAt":"2026-11-25T18:41:38Z","color":"#ffd"}]}`
				if rec.Body.String() != want {
					t.Errorf("body\n got %s\nwant %s", rec.Body, want)
				}
				if got := rec.Header().Get("ETag"); got != `"ep1-3"` {
					t.Errorf("ETag = %q", got)
				}
				if got := rec.Header().Get("Cache-Control"); got != "no-cache" {
					t.Errorf("Cache-Control = %q", got)
				}
			}},
		{name: "final paper has finalizedAt", op: opGet, status: http.StatusOK, req: get("/v1/papers/final1"),
			check: func(t *testing.T, rec *httptest.ResponseRecorder, _ *fakeService) {
				m := decodeObject(t, rec)
				if m["status"] != "final" || m["finalizedAt"] != "2026-11-25T19:39:38Z" {
					t.Errorf("status %v finalizedAt %v", m["status"], m["finalizedAt"])
				}
				if els, ok := m["elements"].([]any); !ok || len(els) != 0 {
					t.Errorf("elements = %#v, want []", m["elements"])
				}
			}},
		{name: "open paper has no finalizedAt", op: opGet, status: http.StatusOK, req: get("/v1/papers/paper1"),
			check: func(t *testing.T, rec *httptest.ResponseRecorder, _ *fakeService) {
				if _, ok := decodeObject(t, rec)["finalizedAt"]; ok {
					t.Error("finalizedAt present on an open paper")
				}
			}},
		{name: "never shows the owner key", op: opGet, status: http.StatusOK, req: get("/v1/papers/paper1", "Authorization: Bearer owner-paper1-s3cret"),
			check: func(t *testing.T, rec *httptest.ResponseRecorder, _ *fakeService) {
				if strings.Contains(strings.ToLower(rec.Body.String()), "ownerkey") || strings.Contains(rec.Body.String(), "s3cret") {
					t.Errorf("GET shows the owner key: %s", rec.Body)
				}
			}},
		{name: "If-None-Match equal", op: opGet, status: http.StatusNotModified, check: notModified,
			req: get("/v1/papers/paper1", `If-None-Match: "ep1-3"`)},
		{name: "If-None-Match list", op: opGet, status: http.StatusNotModified, check: notModified,
			req: get("/v1/papers/paper1", `If-None-Match: "ep0-1", "ep1-3"`)},
		{name: "If-None-Match weak", op: opGet, status: http.StatusNotModified, check: notModified,
			req: get("/v1/papers/paper1", `If-None-Match: W/"ep1-3"`)},
		{name: "If-None-Match star", op: opGet, status: http.StatusNotModified, check: notModified,
			req: get("/v1/papers/paper1", `If-None-Match: *`)},
		{name: "If-None-Match older seq", op: opGet, status: http.StatusOK,
			req: get("/v1/papers/paper1", `If-None-Match: "ep1-2"`)},
		{name: "If-None-Match other epoch", op: opGet, status: http.StatusOK,
			req: get("/v1/papers/paper1", `If-None-Match: "ep9-3"`)},
		{name: "unknown paper", op: opGet, status: http.StatusNotFound, code: "not_found", req: get("/v1/papers/nope")},
		{name: "invalid id never reaches the service", op: opGet, status: http.StatusNotFound, code: "not_found",
			req: get("/v1/papers/" + strings.Repeat("a", 65)),
			check: func(t *testing.T, _ *httptest.ResponseRecorder, f *fakeService) {
				if f.calls != 0 {
					t.Errorf("service called %d times", f.calls)
				}
			}},
		{name: "escaped id", op: opGet, status: http.StatusNotFound, code: "not_found", req: get("/v1/papers/a%2Fb")},
	})
}

func TestFinalizePaper(t *testing.T) {
	finalize := func(id string, headers ...string) func() *http.Request {
		return func() *http.Request { return request(http.MethodPost, "/v1/papers/"+id+"/finalize", "", headers...) }
	}
	runCases(t, []apiCase{
		{name: "owner finalizes", op: opFinalize, status: http.StatusOK,
			req: finalize("paper1", "Authorization: Bearer owner-paper1-s3cret"),
			check: func(t *testing.T, rec *httptest.ResponseRecorder, f *fakeService) {
				m := decodeObject(t, rec)
				if m["status"] != "final" || m["seq"] != 4.0 || m["finalizedAt"] == nil {
					t.Errorf("final document %v", m)
				}
				if els, _ := m["elements"].([]any); len(els) != 2 {
					t.Errorf("elements %v", m["elements"])
				}
				if strings.Contains(rec.Body.String(), "s3cret") {
					t.Error("final document shows the owner key")
				}
				if rec.Header().Get("ETag") != `"ep1-4"` {
					t.Errorf("ETag = %q", rec.Header().Get("ETag"))
				}
			}},
		{name: "bearer scheme is case-insensitive", op: opFinalize, status: http.StatusOK,
			req: finalize("paper1", "Authorization: bearer owner-paper1-s3cret")},
		{name: "owner key header (JWT mode)", op: opFinalize, status: http.StatusOK,
			req: finalize("paper1", "Authorization: Bearer some.jwt.token", "X-Owner-Key: owner-paper1-s3cret")},
		{name: "no key", op: opFinalize, status: http.StatusUnauthorized, code: "unauthorized", req: finalize("paper1"),
			check: func(t *testing.T, rec *httptest.ResponseRecorder, _ *fakeService) {
				if !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("WWW-Authenticate = %q", rec.Header().Get("WWW-Authenticate"))
				}
			}},
		{name: "basic auth is no key", op: opFinalize, status: http.StatusUnauthorized, code: "unauthorized",
			req: finalize("paper1", "Authorization: Basic b3duZXI6a2V5")},
		{name: "wrong key", op: opFinalize, status: http.StatusForbidden, code: "forbidden",
			req: finalize("paper1", "Authorization: Bearer owner-final1")},
		{name: "already final", op: opFinalize, status: http.StatusConflict, code: "conflict",
			req: finalize("final1", "Authorization: Bearer owner-final1")},
		{name: "unknown paper", op: opFinalize, status: http.StatusNotFound, code: "not_found",
			req: finalize("nope", "Authorization: Bearer owner-paper1-s3cret")},
		{name: "unknown paper without key is still 404", op: opFinalize, status: http.StatusNotFound, code: "not_found",
			req: finalize("nope")},
	})
}

func TestDeletePaper(t *testing.T) {
	del := func(id string, headers ...string) func() *http.Request {
		return func() *http.Request { return request(http.MethodDelete, "/v1/papers/"+id, "", headers...) }
	}
	runCases(t, []apiCase{
		{name: "owner deletes", op: opDelete, status: http.StatusNoContent,
			req: del("paper1", "Authorization: Bearer owner-paper1-s3cret"),
			check: func(t *testing.T, rec *httptest.ResponseRecorder, f *fakeService) {
				if rec.Body.Len() != 0 {
					t.Errorf("204 with body %s", rec.Body)
				}
				if _, ok := f.papers["paper1"]; ok {
					t.Error("paper still there")
				}
			}},
		{name: "no key", op: opDelete, status: http.StatusUnauthorized, code: "unauthorized", req: del("paper1")},
		{name: "wrong key", op: opDelete, status: http.StatusForbidden, code: "forbidden",
			req: del("paper1", "Authorization: Bearer wrong"),
			check: func(t *testing.T, _ *httptest.ResponseRecorder, f *fakeService) {
				if _, ok := f.papers["paper1"]; !ok {
					t.Error("paper deleted with a wrong key")
				}
			}},
		{name: "unknown paper", op: opDelete, status: http.StatusNotFound, code: "not_found",
			req: del("nope", "Authorization: Bearer x")},
	})
}

func TestPatchPaper(t *testing.T) {
	patch := func(id, body string, headers ...string) func() *http.Request {
		return func() *http.Request { return request(http.MethodPatch, "/v1/papers/"+id, body, headers...) }
	}
	const owner = "Authorization: Bearer owner-paper1-s3cret"
	runCases(t, []apiCase{
		{name: "owner opens the paper", op: opPatch, status: http.StatusOK,
			req: patch("paper1", `{"edit":"open"}`, jsonCT, owner),
			check: func(t *testing.T, rec *httptest.ResponseRecorder, f *fakeService) {
				m := decodeObject(t, rec)
				if m["edit"] != "open" || m["seq"] != 4.0 || m["id"] != "paper1" {
					t.Errorf("patched paper %v", m)
				}
				if _, ok := m["elements"]; ok || strings.Contains(rec.Body.String(), "s3cret") {
					t.Errorf("PATCH answers more than the paper: %s", rec.Body)
				}
				if f.papers["paper1"].doc.Paper.Edit != domain.EditOpen {
					t.Error("policy not changed")
				}
			}},
		{name: "same policy again", op: opPatch, status: http.StatusOK,
			req: patch("paper1", `{"edit":"authors"}`, jsonCT, owner),
			check: func(t *testing.T, rec *httptest.ResponseRecorder, _ *fakeService) {
				if m := decodeObject(t, rec); m["edit"] != "authors" || m["seq"] != 3.0 {
					t.Errorf("unchanged paper %v", m)
				}
			}},
		{name: "owner key header (JWT mode)", op: opPatch, status: http.StatusOK,
			req: patch("paper1", `{"edit":"open"}`, jsonCT, "Authorization: Bearer some.jwt", "X-Owner-Key: owner-paper1-s3cret")},
		{name: "no key", op: opPatch, status: http.StatusUnauthorized, code: "unauthorized",
			req: patch("paper1", `{"edit":"open"}`, jsonCT)},
		{name: "wrong key", op: opPatch, status: http.StatusForbidden, code: "forbidden",
			req: patch("paper1", `{"edit":"open"}`, jsonCT, "Authorization: Bearer owner-final1"),
			check: func(t *testing.T, _ *httptest.ResponseRecorder, f *fakeService) {
				if f.papers["paper1"].doc.Paper.Edit != domain.EditAuthors {
					t.Error("policy changed with a wrong key")
				}
			}},
		{name: "unknown policy", op: opPatch, status: http.StatusBadRequest, code: "invalid",
			req: patch("paper1", `{"edit":"nobody"}`, jsonCT, owner)},
		{name: "no edit member", op: opPatch, status: http.StatusBadRequest, code: "invalid",
			req: patch("paper1", `{"title":"x"}`, jsonCT, owner)},
		{name: "malformed body", op: opPatch, status: http.StatusBadRequest, code: "invalid",
			req: patch("paper1", `{"edit":`, jsonCT, owner)},
		{name: "not JSON", op: opPatch, status: http.StatusUnsupportedMediaType, code: "unsupported",
			req: patch("paper1", `edit=open`, "Content-Type: application/x-www-form-urlencoded", owner)},
		{name: "final paper", op: opPatch, status: http.StatusConflict, code: "conflict",
			req: patch("final1", `{"edit":"authors"}`, jsonCT, "Authorization: Bearer owner-final1")},
		{name: "unknown paper", op: opPatch, status: http.StatusNotFound, code: "not_found",
			req: patch("nope", `{"edit":"open"}`, jsonCT, owner)},
	})
}

func TestBans(t *testing.T) {
	ban := func(id, body string, headers ...string) func() *http.Request {
		return func() *http.Request { return request(http.MethodPost, "/v1/papers/"+id+"/bans", body, headers...) }
	}
	unban := func(path string, headers ...string) func() *http.Request {
		return func() *http.Request { return request(http.MethodDelete, "/v1/papers/"+path, "", headers...) }
	}
	const owner = "Authorization: Bearer owner-paper1-s3cret"
	banned := func(user string, want bool) func(t *testing.T, rec *httptest.ResponseRecorder, f *fakeService) {
		return func(t *testing.T, rec *httptest.ResponseRecorder, f *fakeService) {
			if rec.Code == http.StatusNoContent && rec.Body.Len() != 0 {
				t.Errorf("204 with body %s", rec.Body)
			}
			if got := f.papers["paper1"].bans[user]; got != want {
				t.Errorf("%q banned = %v, want %v", user, got, want)
			}
		}
	}
	banU7 := func(f *fakeService) { f.papers["paper1"].bans = map[string]bool{"u7": true, "a/b %2F é": true} }
	runCases(t, []apiCase{
		{name: "owner bans", op: opBan, status: http.StatusNoContent, check: banned("u7", true),
			req: ban("paper1", `{"user":"u7"}`, jsonCT, owner)},
		{name: "any user id", op: opBan, status: http.StatusNoContent, check: banned("a/b %2F é", true),
			req: ban("paper1", `{"user":"a/b %2F \u00e9"}`, jsonCT, owner)},
		{name: "no key", op: opBan, status: http.StatusUnauthorized, code: "unauthorized", check: banned("u7", false),
			req: ban("paper1", `{"user":"u7"}`, jsonCT)},
		{name: "wrong key", op: opBan, status: http.StatusForbidden, code: "forbidden", check: banned("u7", false),
			req: ban("paper1", `{"user":"u7"}`, jsonCT, "Authorization: Bearer owner-final1")},
		{name: "empty user", op: opBan, status: http.StatusBadRequest, code: "invalid",
			req: ban("paper1", `{"user":""}`, jsonCT, owner)},
		{name: "user too long", op: opBan, status: http.StatusBadRequest, code: "invalid",
			req: ban("paper1", `{"user":"`+strings.Repeat("u", 129)+`"}`, jsonCT, owner)},
		{name: "no user", op: opBan, status: http.StatusBadRequest, code: "invalid",
			req: ban("paper1", `{}`, jsonCT, owner)},
		{name: "user of wrong type", op: opBan, status: http.StatusBadRequest, code: "invalid",
			req: ban("paper1", `{"user":42}`, jsonCT, owner)},
		{name: "not JSON", op: opBan, status: http.StatusUnsupportedMediaType, code: "unsupported",
			req: ban("paper1", `{"user":"u7"}`, owner)},
		{name: "unknown paper", op: opBan, status: http.StatusNotFound, code: "not_found",
			req: ban("nope", `{"user":"u7"}`, jsonCT, owner)},
		{name: "owner lifts a ban", op: opUnban, status: http.StatusNoContent, setup: banU7, check: banned("u7", false),
			req: unban("paper1/bans/u7", owner)},
		{name: "lifts a ban of an escaped user id", op: opUnban, status: http.StatusNoContent, setup: banU7, check: banned("a/b %2F é", false),
			req: unban("paper1/bans/a%2Fb%20%252F%20%C3%A9", owner)},
		{name: "lifting a ban that is not there", op: opUnban, status: http.StatusNoContent,
			req: unban("paper1/bans/nobody", owner)},
		{name: "unban without key", op: opUnban, status: http.StatusUnauthorized, code: "unauthorized", setup: banU7, check: banned("u7", true),
			req: unban("paper1/bans/u7")},
		{name: "unban with a wrong key", op: opUnban, status: http.StatusForbidden, code: "forbidden", setup: banU7, check: banned("u7", true),
			req: unban("paper1/bans/u7", "Authorization: Bearer nope")},
		{name: "unban on an unknown paper", op: opUnban, status: http.StatusNotFound, code: "not_found",
			req: unban("nope/bans/u7", owner)},
	})
}

func TestHealthAndReadiness(t *testing.T) {
	get := func(path string) func() *http.Request {
		return func() *http.Request { return request(http.MethodGet, path, "") }
	}
	okBody := func(t *testing.T, rec *httptest.ResponseRecorder, _ *fakeService) {
		if got := strings.TrimSpace(rec.Body.String()); got != `{"status":"ok"}` {
			t.Errorf("body %s", got)
		}
	}
	runCases(t, []apiCase{
		{name: "healthz", op: "GET /healthz", status: http.StatusOK, req: get("/healthz"), check: okBody},
		{name: "healthz while the store is down", op: "GET /healthz", status: http.StatusOK, req: get("/healthz"), check: okBody,
			setup: func(f *fakeService) { f.readyErr = errors.New("bus: subscriber down") }},
		{name: "readyz", op: "GET /readyz", status: http.StatusOK, req: get("/readyz"), check: okBody},
		{name: "readyz while the bus is down", op: "GET /readyz", status: http.StatusServiceUnavailable, code: "unavailable",
			setup: func(f *fakeService) { f.readyErr = errors.New("bus: subscriber connection 10.9.9.9 down") },
			req:   get("/readyz"),
			check: func(t *testing.T, rec *httptest.ResponseRecorder, _ *fakeService) {
				if strings.Contains(rec.Body.String(), "10.9.9.9") {
					t.Errorf("body leaks the cause: %s", rec.Body)
				}
			}},
	})
}

func TestRouterErrorsAreJSON(t *testing.T) {
	runCases(t, []apiCase{
		{name: "unknown route", status: http.StatusNotFound, code: "not_found",
			req: func() *http.Request { return request(http.MethodGet, "/nope", "") }},
		{name: "unknown route under v1", status: http.StatusNotFound, code: "not_found",
			req: func() *http.Request { return request(http.MethodGet, "/v1/papers/x/y/z", "") }},
		{name: "method not allowed", status: http.StatusMethodNotAllowed, code: "method_not_allowed",
			req: func() *http.Request { return request(http.MethodPut, "/v1/papers/paper1", `{}`, jsonCT) },
			check: func(t *testing.T, rec *httptest.ResponseRecorder, _ *fakeService) {
				allow := rec.Header().Get("Allow")
				if !strings.Contains(allow, "GET") || !strings.Contains(allow, "DELETE") {
					t.Errorf("Allow = %q", allow)
				}
			}},
		{name: "method not allowed on create", status: http.StatusMethodNotAllowed, code: "method_not_allowed",
			req: func() *http.Request { return request(http.MethodGet, "/v1/papers", "") }},
	})
}

// TestErrorMapping: each domain error, however wrapped, leaves with its
// status and code; echo's own errors map to the same codes; anything else is
// a generic 500.
func TestErrorMapping(t *testing.T) {
	cases := []struct {
		err    error
		status int
		code   string
	}{
		{fmt.Errorf("x: %w", domain.ErrInvalid), 400, "invalid"},
		{fmt.Errorf("x: %w", domain.ErrFiltered), 400, "filtered"},
		{fmt.Errorf("x: %w", domain.ErrUnauthorized), 401, "unauthorized"},
		{fmt.Errorf("x: %w", domain.ErrForbidden), 403, "forbidden"},
		{fmt.Errorf("x: %w", domain.ErrBanned), 403, "forbidden"},
		{fmt.Errorf("x: %w", domain.ErrNotFound), 404, "not_found"},
		{fmt.Errorf("x: %w", domain.ErrConflict), 409, "conflict"},
		{fmt.Errorf("x: %w", domain.ErrFinalized), 409, "conflict"},
		{fmt.Errorf("x: %w", domain.ErrTooLarge), 413, "too_large"},
		{fmt.Errorf("x: %w", domain.ErrUnsupported), 415, "unsupported"},
		{fmt.Errorf("x: %w", domain.ErrRateLimited), 429, "rate_limited"},
		{fmt.Errorf("x: %w", domain.ErrUnavailable), 503, "unavailable"},
		{fmt.Errorf("x: %w", domain.ErrFull), 503, "full"},
		{fmt.Errorf("x: %w", domain.ErrOverloaded), 503, "overloaded"},
		{fmt.Errorf("read: %w", echo.ErrStatusRequestEntityTooLarge), 413, "too_large"},
		{fmt.Errorf("x: %w", echo.ErrNotFound), 404, "not_found"},
		{echo.ErrMethodNotAllowed, 405, "method_not_allowed"},
		{echo.ErrBadRequest, 400, "invalid"},
		{echo.ErrUnauthorized, 401, "unauthorized"},
		{echo.ErrForbidden, 403, "forbidden"},
		{echo.ErrUnsupportedMediaType, 415, "unsupported"},
		{echo.ErrTooManyRequests, 429, "rate_limited"},
		{echo.ErrServiceUnavailable, 503, "unavailable"},
		{echo.ErrTeapot, 500, "internal"},
		{errors.New("db exploded at 10.0.0.1"), 500, "internal"},
	}
	covered := map[error]bool{}
	for _, tc := range cases {
		for _, derr := range domain.Errors() {
			if errors.Is(tc.err, derr) {
				covered[derr] = true
			}
		}
	}
	for _, derr := range domain.Errors() {
		if !covered[derr] {
			t.Errorf("domain error %q has no case here", derr)
		}
	}
	for _, tc := range cases {
		t.Run(tc.err.Error(), func(t *testing.T) {
			h := newHarness(t, rest.Options{})
			h.f.err = tc.err
			rec := h.do(request(http.MethodGet, "/v1/papers/paper1", ""))
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tc.status, rec.Body)
			}
			if got := errorCode(t, rec); got != tc.code {
				t.Errorf("code %q, want %q", got, tc.code)
			}
			if tc.status >= 500 && strings.Contains(rec.Body.String(), "10.0.0.1") {
				t.Errorf("500 body leaks the error: %s", rec.Body)
			}
			if tc.code == "internal" && !strings.Contains(h.log.String(), tc.err.Error()) {
				t.Errorf("internal error not logged; log:\n%s", h.log)
			}
		})
	}
}

func TestHeadErrorHasNoBody(t *testing.T) {
	h := newHarness(t, rest.Options{})
	rec := h.do(request(http.MethodHead, "/nope", ""))
	if rec.Code != http.StatusNotFound || rec.Body.Len() != 0 {
		t.Fatalf("status %d body %q", rec.Code, rec.Body)
	}
}

// TestPanicIsRecoveredAndLoggedWithStack: a panicking handler gives a
// generic JSON 500, the stack goes to the log only, and the server serves on.
func TestPanicIsRecoveredAndLoggedWithStack(t *testing.T) {
	h := newHarness(t, rest.Options{})
	h.f.panicMsg = "boom in the service"
	rec := h.do(request(http.MethodGet, "/v1/papers/paper1", ""))
	if rec.Code != http.StatusInternalServerError || errorCode(t, rec) != "internal" {
		t.Fatalf("status %d body %s", rec.Code, rec.Body)
	}
	if strings.Contains(rec.Body.String(), "boom") || strings.Contains(rec.Body.String(), "goroutine") {
		t.Errorf("body leaks the panic: %s", rec.Body)
	}
	logs := h.log.String()
	if !strings.Contains(logs, "boom in the service") || !strings.Contains(logs, "goroutine ") {
		t.Errorf("panic not logged with its stack:\n%s", logs)
	}
	if n := strings.Count(logs, `"msg":"request failed"`); n != 0 {
		t.Errorf("panic logged again by the error handler (%d times)", n)
	}
	h.f.panicMsg = ""
	if rec := h.do(request(http.MethodGet, "/v1/papers/paper1", "")); rec.Code != http.StatusOK {
		t.Fatalf("after the panic: status %d", rec.Code)
	}
}
