package ws_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/papercast/papercast/delivery/ws"
	"github.com/papercast/papercast/protocol"
)

// answer waits for the ack or error of ref.
func answer(c *client, ref string) []byte {
	c.T.Helper()
	f := c.Next(func(f frame) bool { return (f.Type == "ack" || f.Type == "error") && f.Ref == ref })
	return f.Raw
}

// TestOwnerClaimsAndBansOverTheSocket: the owner key is presented in a
// claim frame (never in the URL); a wrong key and a ban by a non-owner get
// forbidden; an owner session may change anyone's note and ban a user,
// whose sessions are closed with 4003 and whose new joins are refused with
// error forbidden and close 4003.
func TestOwnerClaimsAndBansOverTheSocket(t *testing.T) {
	s := newServer(t, ws.Options{})
	p := s.create()
	ada := s.join(p.ID, q("user", "ada"))
	ada.First()
	ada.Send(upsert("a1", "n1", map[string]any{"text": "Happy birthday!"}))
	ada.Next(ofType("ack"))
	troll := s.join(p.ID, q("user", "troll"))
	troll.First()
	troll2 := s.join(p.ID, q("user", "troll"))
	troll2.First()
	mod := s.join(p.ID, q("user", "mod"))
	mod.First()

	for _, c := range []struct {
		frame map[string]any
		want  string
	}{
		{map[string]any{"type": "claim", "ref": "c0", "ownerKey": "not-the-key"}, `"code":"forbidden"`},
		{map[string]any{"type": "claim", "ref": "c0", "ownerKey": ""}, `"code":"forbidden"`},
		{map[string]any{"type": "ban", "ref": "b0", "user": "troll"}, `"code":"forbidden"`},
		{upsert("u0", "n1", map[string]any{"text": "moderated"}), `"code":"forbidden"`},
		{map[string]any{"type": "claim", "ref": "c1", "ownerKey": p.OwnerKey}, `{"type":"ack","ref":"c1"}`},
		{upsert("u1", "n1", map[string]any{"text": "moderated"}), `{"type":"ack","ref":"u1","seq":2}`},
		{map[string]any{"type": "ban", "ref": "b1", "user": ""}, `"code":"invalid"`},
		{map[string]any{"type": "ban", "ref": "b2", "user": "troll"}, `{"type":"ack","ref":"b2"}`},
	} {
		mod.Send(c.frame)
		if got := answer(mod, c.frame["ref"].(string)); !strings.Contains(string(got), c.want) {
			t.Fatalf("%v: got %s, want %s", c.frame, got, c.want)
		}
	}
	for _, c := range []*client{troll, troll2} {
		if code := c.WaitClosed(); code != protocol.DisconnectBanned.Code {
			t.Fatalf("banned session closed with %d, want 4003", code)
		}
	}
	again := s.join(p.ID, q("user", "troll"))
	if e := again.Next(nil); e.Type != "error" || e.Code != "forbidden" {
		t.Fatalf("a banned user's join got %s, want error forbidden", e.Raw)
	}
	if code := again.WaitClosed(); code != protocol.DisconnectBanned.Code {
		t.Fatalf("a banned user's join closed with %d, want 4003", code)
	}
	// Others stay, and the REST DELETE lifts the ban.
	ada.Send(upsert("a2", "n2", map[string]any{"text": "still here"}))
	if ack := answer(ada, "a2"); !strings.Contains(string(ack), `"type":"ack"`) {
		t.Fatalf("ada after the ban: %s", ack)
	}
	req, _ := http.NewRequest(http.MethodDelete, s.url+"/v1/papers/"+p.ID+"/bans/troll", nil)
	req.Header.Set("Authorization", "Bearer "+p.OwnerKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE ban: %v %v", res, err)
	}
	res.Body.Close()
	back := s.join(p.ID, q("user", "troll"))
	if f := back.First(); f.Type != "snapshot" {
		t.Fatalf("after the ban was lifted: %s", f.Raw)
	}
}

// TestWrongOwnerKeysAreStrikes: guessing owner keys ends like a flood:
// AbuseStrikes wrong claims in a row close the session with 1008.
func TestWrongOwnerKeysAreStrikes(t *testing.T) {
	s := newServer(t, ws.Options{AbuseStrikes: 3})
	p := s.create()
	c := s.join(p.ID, nil)
	c.First()
	for i := range 3 {
		c.Send(map[string]any{"type": "claim", "ref": "c", "ownerKey": strings.Repeat("x", i+1)})
	}
	refused := 0
	for {
		f, err := c.NextErr(nil, 5*time.Second)
		if err != nil {
			break
		}
		if f.Type == "error" && f.Code == "forbidden" && f.Ref == "c" {
			refused++
		}
	}
	if refused != 2 || c.CloseCode() != protocol.DisconnectPolicy.Code {
		t.Fatalf("%d forbidden answers, close %d; want 2, then 1008", refused, c.CloseCode())
	}
}
