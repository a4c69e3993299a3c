package app_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/papercast/papercast/app"
	"github.com/papercast/papercast/internal/redistest"
	"github.com/papercast/papercast/internal/wstest"
)

// post sends a JSON body and returns the status and the decoded answer.
func post(t *testing.T, url, body string) (int, map[string]json.RawMessage) {
	t.Helper()
	res, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	return res.StatusCode, decodeBody(t, res.Body)
}

func decodeBody(t *testing.T, r io.Reader) map[string]json.RawMessage {
	t.Helper()
	raw, _ := io.ReadAll(r)
	var out map[string]json.RawMessage
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("body %q: %v", raw, err)
	}
	return out
}

// errorCode is the code of a REST error body.
func errorCode(body map[string]json.RawMessage) string {
	var e struct{ Code string }
	_ = json.Unmarshal(body["error"], &e)
	return e.Code
}

// moderatedReplicas starts two replicas on one Redis with the content
// filter configured by set.
func moderatedReplicas(t *testing.T, set func(*app.ModerationConfig)) (*app.App, *app.App) {
	t.Helper()
	srv := redistest.Start(t)
	cfg := replicaConfig([]string{srv.Addr()}, "standalone", prefix())
	set(&cfg.Moderation)
	return startApp(t, cfg), startApp(t, cfg)
}

// blockedUpserts hide the blocked word "darn" or phrase "bad word" in each
// place a field value can hold it; raw frames, so JSON escapes stay escapes.
var blockedUpserts = map[string]string{
	"plain":              `{"type":"upsert","ref":"r","id":"n1","fields":{"text":"oh darn"}}`,
	"mixed case":         `{"type":"upsert","ref":"r","id":"n1","fields":{"text":"DaRn"}}`,
	"nested in JSON":     `{"type":"upsert","ref":"r","id":"n1","fields":{"note":{"lines":["fine",{"t":"a bad word"}]}}}`,
	"phrase across runs": `{"type":"upsert","ref":"r","id":"n1","fields":{"text":"bad \n\t word"}}`,
	"JSON escapes":       `{"type":"upsert","ref":"r","id":"n1","fields":{"text":"\u0064\u0061rn"}}`,
	"fullwidth (NFKC)":   `{"type":"upsert","ref":"r","id":"n1","fields":{"text":"ｄａｒｎ"}}`,
	"math letters":       `{"type":"upsert","ref":"r","id":"n1","fields":{"text":"𝐝𝐚𝐫𝐧"}}`,
	"zero-width inside":  `{"type":"upsert","ref":"r","id":"n1","fields":{"text":"da\u200brn"}}`,
	"among clean fields": `{"type":"upsert","ref":"r","id":"n1","fields":{"x":1,"color":"#ffd","text":"darn"}}`,
}

// TestBlockedWordsAreRefusedEverywhere: under the reject policy a blocked
// word in a title, a recipient, a display name or anywhere in an upsert's
// values is refused with `filtered` (400 before the upgrade for a name), and
// nothing is stored or published: the next clean op is seq 1 on every
// replica.
func TestBlockedWordsAreRefusedEverywhere(t *testing.T) {
	r0, r1 := moderatedReplicas(t, func(m *app.ModerationConfig) {
		m.BlockedWords = []string{"darn", "bad word"}
	})
	for _, body := range []string{`{"title":"Darn it"}`, `{"title":"Hi","to":"a BAD word"}`, `{"title":"ｄａｒｎ"}`} {
		if status, got := post(t, r0.URL()+"/v1/papers", body); status != http.StatusBadRequest || errorCode(got) != "filtered" {
			t.Errorf("create %s: %d %s, want 400 filtered", body, status, errorCode(got))
		}
	}
	paper := wstest.CreatePaper(t, r0.URL()).ID

	_, res, err := wstest.Dial(t, r1.URL(), paper, wstest.Q("name", "Mr DARN"))
	if err == nil {
		t.Fatal("a session named with a blocked word was opened")
	}
	if res.StatusCode != http.StatusBadRequest || errorCode(decodeBody(t, res.Body)) != "filtered" {
		t.Fatalf("name with a blocked word: %d, want 400 filtered", res.StatusCode)
	}
	res.Body.Close()

	a, _ := join(t, r0.URL(), paper, "name", "Ana")
	b, _ := join(t, r1.URL(), paper, "name", "Ben")
	for name, frame := range blockedUpserts {
		a.Send(frame)
		if f := a.Next(wstest.OfType("ack", "error")); f.Type != "error" || f.Code != "filtered" || f.Ref != "r" {
			t.Errorf("%s: got %s, want error filtered", name, f.Raw)
		}
	}
	a.Send(wstest.Upsert("clean", "n1", map[string]any{"text": "class act"}))
	if f := a.Next(wstest.OfType("ack", "error")); f.Type != "ack" || f.Seq != 1 {
		t.Fatalf("the clean upsert got %s, want ack seq 1", f.Raw)
	}
	if op := b.Next(wstest.OfType("op")); op.Seq != 1 || string(op.Fields["text"]) != `"class act"` {
		t.Fatalf("the other replica's first op: %s, want the clean upsert as seq 1", op.Raw)
	}
	if doc := wstest.GetDocument(t, r1.URL(), paper); doc.Seq != 1 || len(doc.Elements) != 1 {
		t.Fatalf("stored seq %d, %d elements; want only the clean upsert", doc.Seq, len(doc.Elements))
	}
}

// TestBlockedWordsAreMaskedForEveryone: under the mask policy (words from
// moderation.blocked_words_file) each match becomes * of its length before
// anything is stored or sent: the sender's own op frame, a session on the
// other replica and GET on both replicas all carry the same masked text,
// and so do the title, the recipient and the display name.
func TestBlockedWordsAreMaskedForEveryone(t *testing.T) {
	words := filepath.Join(t.TempDir(), "blocked.txt")
	if err := os.WriteFile(words, []byte("# words of the test\ndarn\n\nbad word\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r0, r1 := moderatedReplicas(t, func(m *app.ModerationConfig) {
		m.BlockedWordsFile = words
		m.Policy = "mask"
	})
	status, created := post(t, r0.URL()+"/v1/papers", `{"title":"Darn it, Ada","to":"a bad word"}`)
	var id, title string
	_ = json.Unmarshal(created["id"], &id)
	_ = json.Unmarshal(created["title"], &title)
	if status != http.StatusCreated || title != "**** it, Ada" {
		t.Fatalf("create: %d, title %q; want 201 and the title masked", status, title)
	}
	_, got := getJSON(t, r1.URL()+"/v1/papers/"+id)
	if string(got["title"]) != `"**** it, Ada"` || string(got["to"]) != `"a ********"` {
		t.Fatalf("GET title %s, to %s; want both masked", got["title"], got["to"])
	}

	a, first := join(t, r0.URL(), id, "name", "Darn Dan")
	if first.You.Name != "**** Dan" {
		t.Fatalf("you.name %q, want it masked", first.You.Name)
	}
	b, _ := join(t, r1.URL(), id, "name", "Ben")
	a.Send(`{"type":"upsert","ref":"m1","id":"n1","fields":{"text":"DARN it","note":{"lines":["ok","a bad  word"]},` +
		`"wide":"ｄａｒｎ!","esc":"\u0064arn?","x":3,"clean":"class act"}}`)
	want := map[string]string{
		"text": `"**** it"`, "note": `{"lines":["ok","a *********"]}`, "wide": `"****!"`, "esc": `"****?"`,
		"x": `3`, "clean": `"class act"`,
	}
	check := func(who string, fields map[string]json.RawMessage) {
		t.Helper()
		for k, v := range want {
			if string(fields[k]) != v {
				t.Errorf("%s: %s = %s, want %s", who, k, fields[k], v)
			}
		}
	}
	check("the sender's own op frame", a.Next(wstest.OfType("op")).Fields)
	op := b.Next(wstest.OfType("op"))
	check("the op frame on the other replica", op.Fields)
	if op.By.Name != "**** Dan" {
		t.Errorf("the op's by.name %q, want the masked name", op.By.Name)
	}
	for _, r := range []*app.App{r0, r1} {
		check("GET on "+r.URL(), wstest.Elements(wstest.GetDocument(t, r.URL(), id).Elements)["n1"])
	}
}

// getJSON fetches a URL and decodes its JSON object.
func getJSON(t *testing.T, url string) (int, map[string]json.RawMessage) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	return res.StatusCode, decodeBody(t, res.Body)
}
