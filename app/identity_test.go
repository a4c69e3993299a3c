package app_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/papercast/papercast/app"
	"github.com/papercast/papercast/internal/redistest"
	"github.com/papercast/papercast/internal/wstest"
)

// guestConfig is a replica in guest mode as deployed (no JWT, ?user= not
// trusted) on the given Redis, signing guest tokens with secret (empty: one
// of its own) and still accepting those of previous.
func guestConfig(srv *redistest.Server, prefix, secret string, previous ...string) app.Config {
	cfg := replicaConfig([]string{srv.Addr()}, "standalone", prefix)
	cfg.Auth.TrustQueryUser = false
	cfg.Auth.GuestSecret = secret
	cfg.Auth.GuestSecretPrevious = append([]string{}, previous...)
	return cfg
}

func prefix() string { return fmt.Sprintf("t%d:", time.Now().UnixNano()) }

// join dials a paper and returns its first frame's you.
func join(t *testing.T, base, paperID string, kv ...string) (*wstest.Client, wstest.Frame) {
	t.Helper()
	c := wstest.MustDial(t, base, paperID, wstest.Q(kv...))
	return c, c.First()
}

// tamper flips the last character of a token's signature.
func tamper(token string) string {
	last := token[len(token)-1]
	if last == 'A' {
		return token[:len(token)-1] + "B"
	}
	return token[:len(token)-1] + "A"
}

// TestForgedIdentityGetsAFreshUser: in guest mode a session is who its
// guest token says, on any replica sharing the secret. Knowing someone's
// user id (it is in every op frame), forging or tampering with a token, or
// bringing a token of another paper gets a fresh server-minted id: never
// the other person's, so no right to change or delete her note (the paper's
// policy is the default, authors).
func TestForgedIdentityGetsAFreshUser(t *testing.T) {
	srv := redistest.Start(t)
	pre := prefix()
	r0 := startApp(t, guestConfig(srv, pre, testGuestSecret))
	r1 := startApp(t, guestConfig(srv, pre, testGuestSecret))
	paper := wstest.CreatePaper(t, r0.URL()).ID
	other := wstest.CreatePaper(t, r0.URL()).ID

	alice, first := join(t, r0.URL(), paper, "user", "alice", "name", "Alice")
	ana := first.You
	if !strings.HasPrefix(ana.User, "g_") || ana.Token == "" || ana.Name != "Alice" {
		t.Fatalf("first session got you %+v: want a minted g_ id, the name and a token", ana)
	}
	alice.Send(wstest.Upsert("a1", "n1", map[string]any{"text": "from Alice"}))
	if op := alice.Next(wstest.OfType("op")); op.By.User != ana.User {
		t.Fatalf("op by %+v, want Alice's minted id %s", op.By, ana.User)
	}
	_, onOther := join(t, r0.URL(), other)

	// Every id below must be new: not Alice's, not the other paper's user's.
	seen := map[string]bool{ana.User: true, onOther.You.User: true}
	for _, tt := range []struct {
		name  string
		query []string
	}{
		{"her user id as ?user=", []string{"user", ana.User}},
		{"her user id and a tampered token", []string{"user", ana.User, "token", tamper(ana.Token)}},
		{"a made-up token", []string{"token", "g1.AAAA.AAAA"}},
		{"a token of another paper", []string{"token", onOther.You.Token}},
		{"her token with a character added", []string{"token", ana.Token + "x"}},
	} {
		c, f := join(t, r1.URL(), paper, tt.query...)
		if seen[f.You.User] || !strings.HasPrefix(f.You.User, "g_") || f.You.Token == "" {
			t.Errorf("%s: joined as %q (token %v); want a fresh minted id", tt.name, f.You.User, f.You.Token != "")
		}
		seen[f.You.User] = true
		// ... and so has no rights over her note.
		c.Send(map[string]any{"type": "delete", "ref": "d1", "id": "n1"})
		c.Send(wstest.Upsert("u1", "n1", map[string]any{"text": "defaced"}))
		for _, ref := range []string{"d1", "u1"} {
			if e := c.Next(wstest.OfType("ack", "error")); e.Type != "error" || e.Code != "forbidden" || e.Ref != ref {
				t.Errorf("%s: %s of her note got %s, want error forbidden", tt.name, ref, e.Raw)
			}
		}
	}

	// Her own token is her, on the other replica too, whatever ?user= says,
	// and comes back renewed; she may still change her note.
	herAgain, again := join(t, r1.URL(), paper, "token", ana.Token, "user", "mallory")
	if again.You.User != ana.User || again.You.Token == "" {
		t.Fatalf("her token on the other replica: you %+v, want user %s", again.You, ana.User)
	}
	herAgain.Send(wstest.Upsert("a2", "n1", map[string]any{"text": "still from Alice"}))
	if f := herAgain.Next(wstest.OfType("ack", "error")); f.Type != "ack" {
		t.Fatalf("her own note through her token: %s, want an ack", f.Raw)
	}
	_, third := join(t, r0.URL(), paper, "token", again.You.Token)
	if third.You.User != ana.User {
		t.Fatalf("the renewed token: user %q, want %s", third.You.User, ana.User)
	}
}

// TestGuestSecretRotation: a replica given the old secret as a previous one
// accepts tokens signed with it and hands out tokens under the new one; a
// replica that no longer knows the old secret treats its tokens as none.
func TestGuestSecretRotation(t *testing.T) {
	const (
		oldSecret = "the-old-guest-secret-0123456789abcdef"
		newSecret = "the-new-guest-secret-fedcba9876543210"
	)
	srv := redistest.Start(t)
	pre := prefix()
	before := startApp(t, guestConfig(srv, pre, oldSecret))
	during := startApp(t, guestConfig(srv, pre, newSecret, oldSecret))
	after := startApp(t, guestConfig(srv, pre, newSecret))
	paper := wstest.CreatePaper(t, before.URL()).ID

	_, f := join(t, before.URL(), paper)
	ben, oldToken := f.You.User, f.You.Token
	_, f = join(t, during.URL(), paper, "token", oldToken)
	if f.You.User != ben {
		t.Fatalf("the old token during the rotation: user %q, want %s", f.You.User, ben)
	}
	newToken := f.You.Token
	if _, f = join(t, after.URL(), paper, "token", newToken); f.You.User != ben {
		t.Fatalf("the token renewed during the rotation, after it: user %q, want %s", f.You.User, ben)
	}
	if _, f = join(t, after.URL(), paper, "token", oldToken); f.You.User == ben {
		t.Fatal("a token of a retired secret still names its user")
	}
}

// TestTrustQueryUserKeepsV1: with auth.trust_query_user on, ?user= is taken
// as is (protocol v1), a valid token still wins over it, and the server
// warns at start that it is on.
func TestTrustQueryUserKeepsV1(t *testing.T) {
	srv := redistest.Start(t)
	cfg := guestConfig(srv, prefix(), testGuestSecret)
	cfg.Auth.TrustQueryUser = true
	a, logs := startAppLogging(t, cfg)
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "auth.trust_query_user is on") {
		t.Fatalf("no warning at start that trust_query_user is on; log:\n%s", logs)
	}
	paper := wstest.CreatePaper(t, a.URL()).ID
	_, f := join(t, a.URL(), paper, "user", "ada", "name", "Ada")
	if f.You.User != "ada" || f.You.Token == "" {
		t.Fatalf("you %+v: want user ada, with a token", f.You)
	}
	if _, f = join(t, a.URL(), paper, "user", "bob", "token", f.You.Token); f.You.User != "ada" {
		t.Fatalf("a valid token and ?user=bob: user %q, want ada", f.You.User)
	}
	if _, f = join(t, a.URL(), paper); !strings.HasPrefix(f.You.User, "anon-") {
		t.Fatalf("no user and no token: user %q, want v1's anon- id", f.You.User)
	}
}

// TestGeneratedGuestSecretIsPerProcess: without auth.guest_secret each
// process signs with a secret of its own and logs that it made one (never
// the secret itself): its tokens work on it and nowhere else. Trusting
// ?user= is off by default and nothing warns about it.
func TestGeneratedGuestSecretIsPerProcess(t *testing.T) {
	srv := redistest.Start(t)
	pre := prefix()
	a, logs := startAppLogging(t, guestConfig(srv, pre, ""))
	b := startApp(t, guestConfig(srv, pre, ""))
	if !strings.Contains(logs.String(), "generated a guest token secret") {
		t.Fatalf("no line about the generated secret; log:\n%s", logs)
	}
	if strings.Contains(logs.String(), "trust_query_user is on") {
		t.Fatal("a warning about trust_query_user, which is off")
	}
	paper := wstest.CreatePaper(t, a.URL()).ID
	_, f := join(t, a.URL(), paper)
	cy := f.You
	if _, f = join(t, a.URL(), paper, "token", cy.Token); f.You.User != cy.User {
		t.Fatalf("the token on its own process: user %q, want %s", f.You.User, cy.User)
	}
	if _, f = join(t, b.URL(), paper, "token", cy.Token); f.You.User == cy.User {
		t.Fatal("a token signed with one process's generated secret names its user on another process")
	}
	if strings.Contains(logs.String(), "secret=") {
		t.Fatalf("the log carries a secret attribute:\n%s", logs)
	}
}
