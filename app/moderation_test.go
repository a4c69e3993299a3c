package app_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/papercast/papercast/internal/redistest"
	"github.com/papercast/papercast/internal/wstest"
	"github.com/papercast/papercast/protocol"
)

// answerTo waits for the ack or error of ref.
func answerTo(c *wstest.Client, ref string) wstest.Frame {
	c.T.Helper()
	return c.Next(func(f wstest.Frame) bool { return (f.Type == "ack" || f.Type == "error") && f.Ref == ref })
}

// refusedAsBanned checks that a join as user through base is refused:
// error forbidden, then close 4003.
func refusedAsBanned(t *testing.T, base, paperID, user string) {
	t.Helper()
	c := wstest.MustDial(t, base, paperID, wstest.Q("user", user))
	if e := c.Next(nil); e.Type != "error" || e.Code != "forbidden" {
		t.Fatalf("join of banned %s through %s: %s, want error forbidden", user, base, e.Raw)
	}
	if code := c.WaitClosed(); code != protocol.DisconnectBanned.Code {
		t.Fatalf("join of banned %s through %s closed with %d, want 4003", user, base, code)
	}
}

// TestBanOnOneReplicaClosesTheUsersSessionsOnAnother: the owner, on replica
// A, claims the paper over the socket and bans a user whose two sessions are
// on replica B: both are closed with 4003, the user's joins through either
// replica are refused, a replica started after the ban refuses them too (the
// ban is in Redis), and everyone else keeps editing.
func TestBanOnOneReplicaClosesTheUsersSessionsOnAnother(t *testing.T) {
	srv := redistest.Start(t)
	prefix := fmt.Sprintf("t%d:", time.Now().UnixNano())
	a := startApp(t, replicaConfig([]string{srv.Addr()}, "standalone", prefix))
	b := startApp(t, replicaConfig([]string{srv.Addr()}, "standalone", prefix))
	paper := wstest.CreatePaper(t, a.URL())

	var trolls []*wstest.Client
	for range 2 {
		c := wstest.MustDial(t, b.URL(), paper.ID, wstest.Q("user", "troll"))
		c.First()
		trolls = append(trolls, c)
	}
	ada := wstest.MustDial(t, b.URL(), paper.ID, wstest.Q("user", "ada"))
	ada.First()
	trolls[0].Send(wstest.Upsert("t1", "spam", map[string]any{"text": "spam"}))
	if f := answerTo(trolls[0], "t1"); f.Type != "ack" {
		t.Fatalf("troll's note: %s", f.Raw)
	}

	owner := wstest.MustDial(t, a.URL(), paper.ID, wstest.Q("user", "owner"))
	owner.First()
	owner.Send(map[string]any{"type": "claim", "ref": "c1", "ownerKey": paper.OwnerKey})
	if f := answerTo(owner, "c1"); f.Type != "ack" {
		t.Fatalf("claim: %s", f.Raw)
	}
	owner.Send(map[string]any{"type": "ban", "ref": "b1", "user": "troll"})
	if f := answerTo(owner, "b1"); f.Type != "ack" {
		t.Fatalf("ban: %s", f.Raw)
	}
	for i, c := range trolls {
		if code := c.WaitClosed(); code != protocol.DisconnectBanned.Code {
			t.Fatalf("troll session %d on the other replica closed with %d, want 4003", i, code)
		}
	}
	refusedAsBanned(t, a.URL(), paper.ID, "troll")
	refusedAsBanned(t, b.URL(), paper.ID, "troll")
	late := startApp(t, replicaConfig([]string{srv.Addr()}, "standalone", prefix))
	refusedAsBanned(t, late.URL(), paper.ID, "troll")

	// The owner session removes the troll's note; ada writes on.
	owner.Send(map[string]any{"type": "delete", "ref": "d1", "id": "spam"})
	if f := answerTo(owner, "d1"); f.Type != "ack" {
		t.Fatalf("the owner deletes the troll's note: %s", f.Raw)
	}
	ada.Send(wstest.Upsert("a1", "n1", map[string]any{"text": "Happy birthday!"}))
	if f := answerTo(ada, "a1"); f.Type != "ack" {
		t.Fatalf("ada after the ban: %s", f.Raw)
	}
	if ada.CloseCode() != 0 {
		t.Fatalf("ada's session closed with %d", ada.CloseCode())
	}
}
