package rest_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/papercast/papercast/delivery/rest"
)

// TestLogsNeverHoldSecrets: owner keys (Authorization, X-Owner-Key) and JWTs
// (?token=) reach the server on many requests, successful or not, and none
// of them appears in any log line.
func TestLogsNeverHoldSecrets(t *testing.T) {
	h := newHarness(t, rest.Options{})
	const (
		ownerKey = "owner-paper1-s3cret"
		jwt      = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbmEifQ.SIGNATURE-QUERY"
		jwtHdr   = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJib2IifQ.SIGNATURE-HEADER"
	)
	reqs := []*http.Request{
		request(http.MethodGet, "/v1/papers/paper1?token="+jwt, "", "Authorization: Bearer "+jwtHdr),
		request(http.MethodPost, "/v1/papers/paper1/finalize?token="+jwt, "", "Authorization: Bearer wrong-"+ownerKey),
		request(http.MethodPost, "/v1/papers/paper1/finalize", "", "Authorization: Bearer "+jwtHdr, "X-Owner-Key: "+ownerKey),
		request(http.MethodDelete, "/v1/papers/nope?token="+jwt, "", "Authorization: Bearer "+ownerKey),
		request(http.MethodGet, "/nope?token="+jwt, "", "Authorization: Bearer "+ownerKey),
	}
	for _, r := range reqs {
		h.do(r)
	}
	h.f.err = errorf("internal failure")
	h.do(request(http.MethodDelete, "/v1/papers/paper1?token="+jwt, "", "Authorization: Bearer "+ownerKey))

	logs := h.log.String()
	for _, secret := range []string{ownerKey, jwt, jwtHdr, "SIGNATURE", "token="} {
		if strings.Contains(logs, secret) {
			t.Errorf("log holds %q:\n%s", secret, logs)
		}
	}

	// Every request left one line with the fields an operator needs.
	lines := 0
	sc := bufio.NewScanner(strings.NewReader(logs))
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		if rec["msg"] != "http request" {
			continue
		}
		lines++
		for _, k := range []string{"request_id", "method", "path", "status", "latency", "remote_ip"} {
			if v, ok := rec[k]; !ok || v == "" {
				t.Errorf("request line lacks %s: %s", k, sc.Text())
			}
		}
	}
	if lines != len(reqs)+1 {
		t.Errorf("%d request lines, want %d:\n%s", lines, len(reqs)+1, logs)
	}
}

type errorf string

func (e errorf) Error() string { return string(e) }

// TestRequestLogShowsStatusSentAndPeerIP: the logged status is the one the
// error handler sent, and the client IP is the TCP peer's, never a
// client-supplied X-Forwarded-For.
func TestRequestLogShowsStatusSentAndPeerIP(t *testing.T) {
	h := newHarness(t, rest.Options{})
	req := request(http.MethodGet, "/v1/papers/nope", "", "X-Forwarded-For: 6.6.6.6", "X-Real-Ip: 6.6.6.7")
	req.RemoteAddr = "192.0.2.10:5555"
	rec := h.do(req)
	var line map[string]any
	for l := range strings.SplitSeq(strings.TrimSpace(h.log.String()), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "http request" {
			line = m
		}
	}
	if line == nil {
		t.Fatalf("no request line:\n%s", h.log)
	}
	if line["status"] != 404.0 || line["path"] != "/v1/papers/nope" || line["method"] != "GET" {
		t.Errorf("line %v", line)
	}
	if line["remote_ip"] != "192.0.2.10" {
		t.Errorf("remote_ip = %v, want the TCP peer 192.0.2.10", line["remote_ip"])
	}
	if line["request_id"] != rec.Header().Get("X-Request-Id") {
		t.Errorf("logged request id %v, response has %q", line["request_id"], rec.Header().Get("X-Request-Id"))
	}
}

func TestRequestIDFromClientOnlyWhenSane(t *testing.T) {
	h := newHarness(t, rest.Options{})
	rec := h.do(request(http.MethodGet, "/healthz", "", "X-Request-Id: client-abc.123"))
	if got := rec.Header().Get("X-Request-Id"); got != "client-abc.123" {
		t.Errorf("sane client id not kept: %q", got)
	}
	for _, bad := range []string{"evil\" injected=1", strings.Repeat("a", 129), "a b"} {
		rec := h.do(request(http.MethodGet, "/healthz", "", "X-Request-Id: "+bad))
		if got := rec.Header().Get("X-Request-Id"); got == "" || got == bad {
			t.Errorf("client id %q: response id %q, want a generated one", bad, got)
		}
	}
}
