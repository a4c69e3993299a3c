package ws_test

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/papercast/papercast/delivery/ws"
	"github.com/papercast/papercast/paper"
)

func TestTwoClientsSeeEachOthersOpsInOrder(t *testing.T) {
	s := newServer(t, ws.Options{})
	p := s.create()
	a := s.join(p.ID, q("user", "ada", "name", "Ada"))
	snapA := a.next(nil)
	if snapA.Type != "snapshot" || snapA.Seq != 0 || snapA.Epoch != p.Epoch || snapA.You.User != "ada" || snapA.Elements == nil {
		t.Fatalf("first frame: %s", snapA.raw)
	}
	b := s.join(p.ID, q("name", "Bob"))
	snapB := b.next(nil)
	if !strings.HasPrefix(snapB.You.User, "anon-") || len(snapB.Presence) != 2 {
		t.Fatalf("anonymous join: %s", snapB.raw)
	}
	a.send(upsert("a1", "n1", map[string]any{"text": "Happy birthday!", "x": 10, "y": 20, "color": "#ffd"}))
	ackA := a.next(ofType("ack"))
	b.send(upsert("b1", "n1", map[string]any{"color": nil, "x": 11}))
	ackB := b.next(ofType("ack"))
	if ackA.Ref != "a1" || ackB.Ref != "b1" || ackA.Seq == ackB.Seq {
		t.Fatalf("acks: %s %s", ackA.raw, ackB.raw)
	}
	for _, c := range []*client{a, b} {
		op1 := c.next(ofType("op"))
		op2 := c.next(ofType("op"))
		if op1.Seq != 1 || op2.Seq != 2 {
			t.Fatalf("ops out of order: %d %d", op1.Seq, op2.Seq)
		}
	}
	doc := s.document(p.ID)
	if len(doc.Elements) != 1 || string(doc.Elements[0]["x"]) != "11" || doc.Elements[0]["color"] != nil {
		t.Fatalf("document: %+v", doc)
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
	c.next(ofType("snapshot"))
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
			c.t = t
			c.send(tt.frame)
			e := c.next(ofType("error"))
			if e.Type != "error" || e.Code != tt.code || e.Ref != tt.ref || e.Message == "" {
				t.Fatalf("got %s, want code %s ref %q", e.raw, tt.code, tt.ref)
			}
			ref := fmt.Sprint("ok", i)
			c.send(upsert(ref, "n1", map[string]any{"i": i}))
			if ack := c.next(ofType("ack", "error")); ack.Type != "ack" || ack.Ref != ref {
				t.Fatalf("connection unusable after error: %s", ack.raw)
			}
		})
	}
	c.t = t
	if err := c.c.WriteMessage(websocket.BinaryMessage, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if e := c.next(ofType("error")); e.Code != "unsupported" {
		t.Fatalf("binary frame: %s", e.raw)
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
	c.next(ofType("snapshot"))
	c.send(upsert("a", "n1", map[string]any{"text": "hi"}))
	c.next(ofType("ack"))
	req, _ := http.NewRequest(http.MethodPost, s.url+"/v1/papers/"+p.ID+"/finalize", nil)
	req.Header.Set("Authorization", "Bearer "+p.OwnerKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("finalize: %v %v", res.StatusCode, err)
	}
	res.Body.Close()
	if f := c.next(ofType("finalized")); f.Seq != 2 {
		t.Fatalf("finalized frame %s", f.raw)
	}
	c.send(upsert("late", "n1", map[string]any{"text": "too late"}))
	if e := c.next(ofType("error", "ack")); e.Code != "finalized" || e.Ref != "late" {
		t.Fatalf("edit after finalize: %s", e.raw)
	}
	late := s.join(p.ID, nil)
	if snap := late.next(nil); snap.Paper.Status != "final" || snap.Seq != 2 {
		t.Fatalf("snapshot of final paper: %s", snap.raw)
	}
}

func TestDeleteClosesWith4004(t *testing.T) {
	s := newServer(t, ws.Options{})
	p := s.create()
	c := s.join(p.ID, nil)
	c.next(ofType("snapshot"))
	req, _ := http.NewRequest(http.MethodDelete, s.url+"/v1/papers/"+p.ID, nil)
	req.Header.Set("Authorization", "Bearer "+p.OwnerKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 204 {
		t.Fatalf("delete: %v %v", res.StatusCode, err)
	}
	res.Body.Close()
	if code := c.waitClosed(); code != ws.CloseDeleted {
		t.Fatalf("close code %d, want 4004", code)
	}
}

func TestOversizedFrameClosesWith1009(t *testing.T) {
	s := newServer(t, ws.Options{MaxFrameBytes: 4096})
	p := s.create()
	c := s.join(p.ID, nil)
	c.next(ofType("snapshot"))
	c.send(upsert("big", "n1", map[string]any{"a": strings.Repeat("x", 5000)}))
	if code := c.waitClosed(); code != ws.CloseTooLarge {
		t.Fatalf("close code %d, want 1009", code)
	}
	other := s.join(p.ID, nil)
	other.next(ofType("snapshot"))
}

func TestRateLimitThenPolicyClose(t *testing.T) {
	s := newServer(t, ws.Options{OpsPerSecond: 1, OpsBurst: 2, AbuseStrikes: 5})
	p := s.create()
	c := s.join(p.ID, nil)
	c.next(ofType("snapshot"))
	for i := 0; i < 8; i++ {
		c.send(upsert(fmt.Sprint(i), "n1", map[string]any{"i": i}))
	}
	limited := 0
	for {
		f, ok := <-c.frames
		if !ok {
			break
		}
		if f.Type == "error" && f.Code == "rate_limited" {
			limited++
		}
	}
	if limited < 1 || c.closeCode() != ws.ClosePolicy {
		t.Fatalf("%d rate_limited errors, close %d", limited, c.closeCode())
	}
}

func TestResumeWithSinceAndEpoch(t *testing.T) {
	s := newServer(t, ws.Options{})
	p := s.create()
	a := s.join(p.ID, nil)
	a.next(ofType("snapshot"))
	for i := 0; i < 5; i++ {
		a.send(upsert(fmt.Sprint(i), "n1", map[string]any{"i": i}))
		a.next(ofType("ack"))
	}
	b := s.join(p.ID, q("since", "2", "epoch", p.Epoch))
	first := b.next(nil)
	if first.Type != "resumed" || first.From != 2 || first.Seq != 5 || first.Presence == nil {
		t.Fatalf("first frame %s", first.raw)
	}
	for want := uint64(3); want <= 5; want++ {
		if op := b.next(nil); op.Type != "op" || op.Seq != want {
			t.Fatalf("missed op %d: got %s", want, op.raw)
		}
	}
	stale := s.join(p.ID, q("since", "2", "epoch", "other"))
	if f := stale.next(nil); f.Type != "snapshot" || f.Seq != 5 {
		t.Fatalf("wrong epoch gave %s", f.raw)
	}
}

// TestRandomEditsConverge runs clients editing at random, with joins and
// reconnects (resume) in the middle; every view must equal the document and
// every stream must be gap-free.
func TestRandomEditsConverge(t *testing.T) {
	s := newServer(t, ws.Options{OpsPerSecond: 1e6, OpsBurst: 1e6})
	p := s.create()
	const clients, opsEach = 8, 200
	viewers := make([]*viewer, clients)
	conns := make([]*client, clients)
	var wg sync.WaitGroup
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			v := &viewer{t: t, els: map[string]map[string]json.RawMessage{}}
			c := s.join(p.ID, q("user", fmt.Sprint("u", i)))
			v.apply(c.next(nil))
			for n := 0; n < opsEach; n++ {
				if n == opsEach/2 && i%2 == 0 {
					// Drop and come back: resume from what this client has.
					c.c.Close()
					for f := range c.frames {
						v.apply(f)
					}
					c = s.join(p.ID, q("since", fmt.Sprint(v.seq), "epoch", v.epoch))
					v.apply(c.next(nil))
				}
				id := fmt.Sprint("n", rng.IntN(10))
				ref := fmt.Sprint(i, "-", n)
				if rng.IntN(6) == 0 {
					c.send(map[string]any{"type": "delete", "ref": ref, "id": id})
				} else {
					fields := map[string]any{"x": rng.IntN(500), "by": i}
					if rng.IntN(4) == 0 {
						fields["color"] = nil
					} else {
						fields["color"] = fmt.Sprintf("#%06x", rng.IntN(1<<24))
					}
					c.send(upsert(ref, id, fields))
				}
				for {
					f := c.next(nil)
					v.apply(f)
					if (f.Type == "ack" || f.Type == "error") && f.Ref == ref {
						if f.Type == "error" && f.Code != "not_found" {
							t.Errorf("op refused: %s", f.raw)
						}
						break
					}
				}
			}
			viewers[i], conns[i] = v, c
		}()
	}
	wg.Wait()
	doc := s.document(p.ID)
	for i, v := range viewers {
		for v.seq < doc.Seq {
			v.apply(conns[i].next(nil))
		}
	}
	want := map[string]map[string]json.RawMessage{}
	for _, e := range doc.Elements {
		var id string
		_ = json.Unmarshal(e["id"], &id)
		delete(e, "id")
		want[id] = e
	}
	for i, r := range viewers {
		if r.seq != doc.Seq {
			t.Errorf("client %d at seq %d, document at %d", i, r.seq, doc.Seq)
		}
		if !reflect.DeepEqual(r.els, want) {
			t.Errorf("client %d view differs from the document", i)
		}
	}
}

// viewer applies frames the way a frontend does, checking seq continuity.
type viewer struct {
	t     *testing.T
	els   map[string]map[string]json.RawMessage
	seq   uint64
	epoch string
}

func (v *viewer) apply(f frame) {
	switch f.Type {
	case "snapshot":
		v.els = map[string]map[string]json.RawMessage{}
		for _, e := range f.Elements {
			var id string
			_ = json.Unmarshal(e["id"], &id)
			delete(e, "id")
			v.els[id] = e
		}
		v.seq, v.epoch = f.Seq, f.Epoch
	case "resumed":
		if f.From != v.seq {
			v.t.Errorf("resumed from %d, had %d", f.From, v.seq)
		}
		v.epoch = f.Epoch
	case "op", "finalized":
		if f.Seq != v.seq+1 {
			v.t.Errorf("seq %d after %d", f.Seq, v.seq)
		}
		v.seq = f.Seq
		if f.Op == "upsert" {
			v.els[f.ID] = paper.Merge(v.els[f.ID], f.Fields)
		} else if f.Op == "delete" {
			delete(v.els, f.ID)
		}
	}
}
