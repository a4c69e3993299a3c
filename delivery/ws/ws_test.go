package ws_test

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/papercast/papercast/delivery/rest"
	"github.com/papercast/papercast/delivery/ws"
	"github.com/papercast/papercast/internal/wstest"
	"github.com/papercast/papercast/protocol"
)

func TestTwoClientsSeeEachOthersOpsInOrder(t *testing.T) {
	s := newServer(t, ws.Options{})
	p := s.createOpen() // bob edits ada's note
	a := s.join(p.ID, q("user", "ada", "name", "Ada"))
	snapA := a.Next(nil)
	if snapA.Type != "snapshot" || snapA.Seq != 0 || snapA.Epoch != p.Epoch || snapA.You.User != "ada" || snapA.Elements == nil {
		t.Fatalf("first frame: %s", snapA.Raw)
	}
	b := s.join(p.ID, q("name", "Bob"))
	snapB := b.Next(nil)
	if !strings.HasPrefix(snapB.You.User, "anon-") || len(snapB.Presence) != 2 {
		t.Fatalf("anonymous join: %s", snapB.Raw)
	}
	a.Send(upsert("a1", "n1", map[string]any{"text": "Happy birthday!", "x": 10, "y": 20, "color": "#ffd"}))
	ackA := a.Next(ofType("ack"))
	b.Send(upsert("b1", "n1", map[string]any{"color": nil, "x": 11}))
	ackB := b.Next(ofType("ack"))
	if ackA.Ref != "a1" || ackB.Ref != "b1" || ackA.Seq == ackB.Seq {
		t.Fatalf("acks: %s %s", ackA.Raw, ackB.Raw)
	}
	for _, c := range []*client{a, b} {
		op1 := c.Next(ofType("op"))
		op2 := c.Next(ofType("op"))
		if op1.Seq != 1 || op2.Seq != 2 {
			t.Fatalf("ops out of order: %d %d", op1.Seq, op2.Seq)
		}
	}
	doc := s.document(p.ID)
	if len(doc.Elements) != 1 || string(doc.Elements[0]["x"]) != "11" || doc.Elements[0]["color"] != nil {
		t.Fatalf("document: %+v", doc)
	}
}

// TestEditingSomeoneElsesNoteIsForbidden: on a paper of the default policy
// Bob cannot change or delete Ada's note (error forbidden, nothing stored,
// nobody sees an op), can write his own, and the owner's PATCH to "open"
// reaches both sessions as a policy frame in seq order, after which he can.
// Every element in the snapshot says who wrote it.
func TestEditingSomeoneElsesNoteIsForbidden(t *testing.T) {
	s := newServer(t, ws.Options{})
	p := s.create()
	a := s.join(p.ID, q("user", "ada", "name", "Ada"))
	a.Next(ofType("snapshot"))
	a.Send(upsert("a1", "n1", map[string]any{"text": "Happy birthday!"}))
	a.Next(ofType("ack"))
	b := s.join(p.ID, q("user", "bob"))
	snap := b.Next(ofType("snapshot"))
	if len(snap.Elements) != 1 || string(snap.Elements[0]["by"]) != `{"user":"ada","name":"Ada"}` || len(snap.Elements[0]["createdAt"]) != len(`"2026-11-25T18:39:38Z"`) {
		t.Fatalf("snapshot elements carry no author: %s", snap.Raw)
	}
	for _, c := range []struct {
		frame map[string]any
		code  string
	}{
		{upsert("b1", "n1", map[string]any{"text": "Bob was here"}), "forbidden"},
		{map[string]any{"type": "delete", "ref": "b1", "id": "n1"}, "forbidden"},
		{upsert("b1", "n1", map[string]any{"by": map[string]any{"user": "bob"}}), "invalid"}, // reserved
	} {
		b.Send(c.frame)
		if e := b.Next(ofType("error")); e.Ref != "b1" || e.Code != c.code {
			t.Fatalf("bob's %v: %s, want error %s", c.frame, e.Raw, c.code)
		}
	}
	b.Send(upsert("b2", "n2", map[string]any{"text": "Bob's own"}))
	if ack := b.Next(ofType("ack")); ack.Seq != 2 {
		t.Fatalf("bob's own note: %s", ack.Raw)
	}
	req, _ := http.NewRequest(http.MethodPatch, s.url+"/v1/papers/"+p.ID, strings.NewReader(`{"edit":"open"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+p.OwnerKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("PATCH: %v %v", res, err)
	}
	res.Body.Close()
	for _, c := range []*client{a, b} {
		if pol := c.Next(ofType("policy")); pol.Seq != 3 || !strings.Contains(string(pol.Raw), `"edit":"open"`) {
			t.Fatalf("policy frame: %s", pol.Raw)
		}
	}
	b.Send(upsert("b3", "n1", map[string]any{"text": "Bob was here"}))
	if ack := b.Next(ofType("ack")); ack.Seq != 4 {
		t.Fatalf("bob's edit of an open paper: %s", ack.Raw)
	}
	doc := s.document(p.ID)
	if len(doc.Elements) != 2 || string(doc.Elements[0]["text"]) != `"Bob was here"` || string(doc.Elements[0]["by"]) != `{"user":"ada","name":"Ada"}` {
		t.Fatalf("document: %+v", doc.Elements)
	}
}

func TestUnknownPaperIs404BeforeUpgrade(t *testing.T) {
	s := newServer(t, ws.Options{})
	_, res, err := dial(t, s.url, "no-such-paper", nil)
	if err == nil {
		t.Fatal("upgraded an unknown paper")
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusNotFound || !strings.Contains(string(body), `"code":"not_found"`) {
		t.Fatalf("got %d %s", res.StatusCode, body)
	}
}

func TestBadQueryIs400(t *testing.T) {
	s := newServer(t, ws.Options{})
	p := s.create()
	for _, query := range []string{"since=abc&epoch=x", "since=3", "epoch=x", "user=%ff"} {
		res, err := http.Get(s.url + "/v1/papers/" + p.ID + "/ws?" + query)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 400 || !strings.Contains(string(body), `"invalid"`) {
			t.Errorf("%s: got %d %s", query, res.StatusCode, body)
		}
	}
}

func TestEveryErrorCodeKeepsTheConnectionUsable(t *testing.T) {
	s := newServer(t, ws.Options{})
	p := s.create()
	c := s.join(p.ID, nil)
	c.Next(ofType("snapshot"))
	big := strings.Repeat("x", 5000)
	tests := []struct {
		name  string
		frame any
		code  string
		ref   string
	}{
		{"malformed JSON", `{"type":"upsert"`, "invalid", ""},
		{"not an object", `[1]`, "invalid", ""},
		{"trailing data", `{"type":"delete","id":"n1"}{}`, "invalid", ""},
		{"unknown type", map[string]any{"type": "explode", "ref": "r1"}, "unsupported", "r1"},
		{"type is case-sensitive", map[string]any{"type": "Upsert", "ref": "r2", "id": "n1", "fields": map[string]any{"a": 1}}, "unsupported", "r2"},
		{"wrong type of fields", map[string]any{"type": "upsert", "ref": "r3", "id": "n1", "fields": "x"}, "invalid", "r3"},
		{"empty fields", map[string]any{"type": "upsert", "ref": "r4", "id": "n1", "fields": map[string]any{}}, "invalid", "r4"},
		{"bad element id", upsert("r5", "n 1", map[string]any{"a": 1}), "invalid", "r5"},
		{"bad field name", upsert("r6", "n1", map[string]any{"a.b": 1}), "invalid", "r6"},
		{"reserved field", upsert("r7", "n1", map[string]any{"id": 1}), "invalid", "r7"},
		{"value too large", upsert("r8", "n1", map[string]any{"a": big}), "too_large", "r8"},
		{"delete missing element", map[string]any{"type": "delete", "ref": "r9", "id": "ghost"}, "not_found", "r9"},
		{"presence not an object", map[string]any{"type": "presence", "ref": "r10", "state": 5}, "invalid", "r10"},
		{"huge presence", map[string]any{"type": "presence", "ref": "r11", "state": map[string]any{"a": big}}, "too_large", "r11"},
		{"invalid utf-8", []byte("{\"type\":\"upsert\",\"id\":\"n1\",\"fields\":{\"t\":\"\xff\"}}"), "invalid", ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.T = t
			c.Send(tt.frame)
			e := c.Next(ofType("error"))
			if e.Type != "error" || e.Code != tt.code || e.Ref != tt.ref || e.Message == "" {
				t.Fatalf("got %s, want code %s ref %q", e.Raw, tt.code, tt.ref)
			}
			ref := fmt.Sprint("ok", i)
			c.Send(upsert(ref, "n1", map[string]any{"i": i}))
			if ack := c.Next(ofType("ack", "error")); ack.Type != "ack" || ack.Ref != ref {
				t.Fatalf("connection unusable after error: %s", ack.Raw)
			}
		})
	}
	c.T = t
	if err := c.Conn.WriteMessage(websocket.BinaryMessage, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if e := c.Next(ofType("error")); e.Code != "unsupported" {
		t.Fatalf("binary frame: %s", e.Raw)
	}
	doc := s.document(p.ID)
	if doc.Seq != uint64(len(tests)) || len(doc.Elements) != 1 {
		t.Fatalf("rejected frames stored something: seq %d, %d elements", doc.Seq, len(doc.Elements))
	}
}

func TestFinalizedPaperIsReadOnly(t *testing.T) {
	s := newServer(t, ws.Options{})
	p := s.create()
	c := s.join(p.ID, nil)
	c.Next(ofType("snapshot"))
	c.Send(upsert("a", "n1", map[string]any{"text": "hi"}))
	c.Next(ofType("ack"))
	req, _ := http.NewRequest(http.MethodPost, s.url+"/v1/papers/"+p.ID+"/finalize", nil)
	req.Header.Set("Authorization", "Bearer "+p.OwnerKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("finalize: %v %v", res.StatusCode, err)
	}
	res.Body.Close()
	if f := c.Next(ofType("finalized")); f.Seq != 2 {
		t.Fatalf("finalized frame %s", f.Raw)
	}
	c.Send(upsert("late", "n1", map[string]any{"text": "too late"}))
	if e := c.Next(ofType("error", "ack")); e.Code != "finalized" || e.Ref != "late" {
		t.Fatalf("edit after finalize: %s", e.Raw)
	}
	late := s.join(p.ID, nil)
	if snap := late.Next(nil); snap.Paper.Status != "final" || snap.Seq != 2 {
		t.Fatalf("snapshot of final paper: %s", snap.Raw)
	}
}

func TestDeleteClosesWith4004(t *testing.T) {
	s := newServer(t, ws.Options{})
	p := s.create()
	c := s.join(p.ID, nil)
	c.Next(ofType("snapshot"))
	req, _ := http.NewRequest(http.MethodDelete, s.url+"/v1/papers/"+p.ID, nil)
	req.Header.Set("Authorization", "Bearer "+p.OwnerKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 204 {
		t.Fatalf("delete: %v %v", res.StatusCode, err)
	}
	res.Body.Close()
	if code := c.WaitClosed(); code != protocol.DisconnectDeleted.Code {
		t.Fatalf("close code %d, want 4004", code)
	}
}

func TestOversizedFrameClosesWith1009(t *testing.T) {
	s := newServer(t, ws.Options{MaxFrameBytes: 4096})
	p := s.create()
	c := s.join(p.ID, nil)
	c.Next(ofType("snapshot"))
	c.Send(upsert("big", "n1", map[string]any{"a": strings.Repeat("x", 5000)}))
	if code := c.WaitClosed(); code != protocol.DisconnectTooLarge.Code {
		t.Fatalf("close code %d, want 1009", code)
	}
	other := s.join(p.ID, nil)
	other.Next(ofType("snapshot"))
}

func TestRateLimitThenPolicyClose(t *testing.T) {
	s := newServer(t, ws.Options{OpsPerSecond: 1, OpsBurst: 2, AbuseStrikes: 5})
	p := s.create()
	c := s.join(p.ID, nil)
	c.Next(ofType("snapshot"))
	for i := 0; i < 8; i++ {
		// The server may close (1008) before the last of them is sent.
		if err := c.SendErr(upsert(fmt.Sprint(i), "n1", map[string]any{"i": i})); err != nil {
			break
		}
	}
	limited := 0
	for _, f := range c.Drain() {
		if f.Type == "error" && f.Code == "rate_limited" {
			limited++
		}
	}
	if limited < 1 || c.CloseCode() != protocol.DisconnectPolicy.Code {
		t.Fatalf("%d rate_limited errors, close %d", limited, c.CloseCode())
	}
}

func TestResumeWithSinceAndEpoch(t *testing.T) {
	s := newServer(t, ws.Options{})
	p := s.create()
	a := s.join(p.ID, nil)
	a.Next(ofType("snapshot"))
	for i := 0; i < 5; i++ {
		a.Send(upsert(fmt.Sprint(i), "n1", map[string]any{"i": i}))
		a.Next(ofType("ack"))
	}
	b := s.join(p.ID, q("since", "2", "epoch", p.Epoch))
	first := b.Next(nil)
	if first.Type != "resumed" || first.From != 2 || first.Seq != 5 || first.Presence == nil {
		t.Fatalf("first frame %s", first.Raw)
	}
	for want := uint64(3); want <= 5; want++ {
		if op := b.Next(nil); op.Type != "op" || op.Seq != want {
			t.Fatalf("missed op %d: got %s", want, op.Raw)
		}
	}
	stale := s.join(p.ID, q("since", "2", "epoch", "other"))
	if f := stale.Next(nil); f.Type != "snapshot" || f.Seq != 5 {
		t.Fatalf("wrong epoch gave %s", f.Raw)
	}
}

// TestRandomEditsConverge runs clients editing at random, with joins and
// reconnects (resume) in the middle; every view must equal the document and
// every stream must be gap-free.
func TestRandomEditsConverge(t *testing.T) {
	// A large send queue: on a loaded machine a starved write pump must not
	// turn this into a slow-consumer test (that has its own).
	s := newServer(t, ws.Options{OpsPerSecond: 1e6, OpsBurst: 1e6, SendBuffer: 4096})
	p := s.createOpen() // everyone edits everyone's notes
	const clients, opsEach = 8, 200
	viewers := make([]*wstest.Viewer, clients)
	conns := make([]*client, clients)
	var wg sync.WaitGroup
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			v := wstest.NewViewer()
			c := s.join(p.ID, q("user", fmt.Sprint("u", i)))
			v.Apply(c.Next(nil))
			for n := 0; n < opsEach; n++ {
				if n == opsEach/2 && i%2 == 0 {
					// Drop and come back: resume from what this client has.
					c.Conn.Close()
					for _, f := range c.Drain() {
						v.Apply(f)
					}
					c = s.join(p.ID, q("since", fmt.Sprint(v.Seq), "epoch", v.Epoch))
					v.Apply(c.Next(nil))
				}
				id := fmt.Sprint("n", rng.IntN(10))
				ref := fmt.Sprint(i, "-", n)
				if rng.IntN(6) == 0 {
					c.Send(map[string]any{"type": "delete", "ref": ref, "id": id})
				} else {
					fields := map[string]any{"x": rng.IntN(500), "who": i}
					if rng.IntN(4) == 0 {
						fields["color"] = nil
					} else {
						fields["color"] = fmt.Sprintf("#%06x", rng.IntN(1<<24))
					}
					c.Send(upsert(ref, id, fields))
				}
				for {
					f := c.Next(nil)
					v.Apply(f)
					if (f.Type == "ack" || f.Type == "error") && f.Ref == ref {
						if f.Type == "error" && f.Code != "not_found" {
							t.Errorf("op refused: %s", f.Raw)
						}
						break
					}
				}
			}
			viewers[i], conns[i] = v, c
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	doc := s.document(p.ID)
	for i, v := range viewers {
		for v.Seq < doc.Seq {
			v.Apply(conns[i].Next(nil))
		}
	}
	want := wstest.Elements(doc.Elements)
	for i, r := range viewers {
		if r.Seq != doc.Seq || len(r.Errors) > 0 {
			t.Errorf("client %d at seq %d, document at %d; stream errors: %v", i, r.Seq, doc.Seq, r.Errors)
		}
		if !reflect.DeepEqual(r.Els, want) {
			t.Errorf("client %d view differs from the document", i)
		}
	}
}

func TestOriginIsCheckedBeforeUpgrade(t *testing.T) {
	s := newServer(t, ws.Options{CheckOrigin: func(r *http.Request) bool {
		return r.Header.Get("Origin") == "https://app.example"
	}})
	p := s.create()
	tests := []struct {
		origin string
		ok     bool
	}{
		{"https://app.example", true},
		{"https://evil.example", false},
		{"", true}, // non-browser clients send no Origin
	}
	for _, tt := range tests {
		h := http.Header{}
		if tt.origin != "" {
			h.Set("Origin", tt.origin)
		}
		c, res, err := websocket.DefaultDialer.Dial(wstest.URL(s.url, p.ID, nil), h)
		if tt.ok {
			if err != nil {
				t.Fatalf("origin %q refused: %v", tt.origin, err)
			}
			c.Close()
			continue
		}
		if err == nil {
			c.Close()
			t.Fatalf("origin %q accepted", tt.origin)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 403 || !strings.Contains(string(body), `"forbidden"`) {
			t.Fatalf("origin %q: %d %s", tt.origin, res.StatusCode, body)
		}
	}
}

func TestGarbageFloodEndsLikeAnyFlood(t *testing.T) {
	s := newServer(t, ws.Options{OpsPerSecond: 1, OpsBurst: 2, AbuseStrikes: 5})
	p := s.create()
	c := s.join(p.ID, nil)
	c.Next(ofType("snapshot"))
	// The server may close before all ten are written: a failed write is
	// the flood having ended, not a test failure.
	for i := 0; i < 10; i++ {
		if c.SendErr("not json") != nil {
			break
		}
	}
	if code := c.WaitClosed(); code != protocol.DisconnectPolicy.Code {
		t.Fatalf("close %d, want 1008", code)
	}
}

// TestDefaultOriginRuleIsTheServersOne: without CheckOrigin the upgrade
// follows rest.OriginAllowed (no extra origins), the same rule CORS uses,
// not a rule of its own.
func TestDefaultOriginRuleIsTheServersOne(t *testing.T) {
	s := newServer(t, ws.Options{})
	p := s.create()
	host := strings.TrimPrefix(s.url, "http://")
	for _, origin := range []string{
		"http://" + host, "https://" + host, "HTTP://" + strings.ToUpper(host), "http://" + host + "/",
		"https://evil.example", "null", "http://" + host + "/page", "http://localhost:1",
	} {
		want := rest.OriginAllowed(origin, host, nil, false)
		h := http.Header{"Origin": {origin}}
		c, res, err := websocket.DefaultDialer.Dial(wstest.URL(s.url, p.ID, nil), h)
		if got := err == nil; got != want {
			t.Errorf("origin %q: upgraded %v, the server's rule says %v", origin, got, want)
		}
		if c != nil {
			c.Close()
		}
		if res != nil && res.Body != nil {
			res.Body.Close()
		}
	}
}
