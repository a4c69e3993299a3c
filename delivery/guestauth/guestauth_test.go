package guestauth

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	secret    = "0123456789abcdef0123456789abcdef"
	oldSecret = "fedcba9876543210fedcba9876543210"
)

// clock is a settable test clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newSigner(t *testing.T, o Options) *Signer {
	t.Helper()
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func issue(t *testing.T, s *Signer, paper, user string) string {
	t.Helper()
	tok, err := s.Issue(paper, user)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestIssuedTokenVerifiesAsItsUser(t *testing.T) {
	s := newSigner(t, Options{Secret: secret})
	for _, user := range []string{"u1", "g_" + strings.Repeat("x", 20), "Zoë 🎉", strings.Repeat("é", MaxUserLen/2)} {
		tok := issue(t, s, "p1", user)
		if !strings.HasPrefix(tok, Version+".") || len(tok) > MaxTokenLen {
			t.Fatalf("token %q: want prefix %s. and at most %d bytes", tok, Version, MaxTokenLen)
		}
		if strings.ContainsAny(tok, "+/=?&# ") {
			t.Fatalf("token %q is not URL-safe", tok)
		}
		got, err := s.Verify("p1", tok)
		if err != nil || got != user {
			t.Fatalf("Verify = %q, %v; want %q", got, err, user)
		}
	}
}

// TestRejectedTokens: every way a token can be wrong gives ErrInvalid, and
// the error never repeats the token.
func TestRejectedTokens(t *testing.T) {
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	s := newSigner(t, Options{Secret: secret, TTL: time.Hour, Now: c.now})
	good := issue(t, s, "p1", "alice")
	parts := strings.Split(good, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	asBob := append(payload[:len(payload)-len("alice"):len(payload)-len("alice")], "bob"...)
	other := newSigner(t, Options{Secret: oldSecret, TTL: time.Hour, Now: c.now})
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	tests := []struct {
		name, paper, token string
	}{
		{"another paper", "p2", good},
		{"signed with another secret", "p1", issue(t, other, "p1", "alice")},
		{"forged: another user's name with the mac of alice", "p1", parts[0] + "." + base64.RawURLEncoding.EncodeToString(asBob) + "." + parts[2]},
		{"tampered payload", "p1", parts[0] + "." + flip(parts[1], 0) + "." + parts[2]},
		{"tampered mac", "p1", flip(good, len(good)-2)},
		{"mac cut short", "p1", good[:len(good)-4]},
		{"no mac", "p1", parts[0] + "." + parts[1]},
		{"extra part", "p1", good + ".x"},
		{"unknown version", "p1", "g2." + parts[1] + "." + parts[2]},
		{"no version", "p1", parts[1] + "." + parts[2]},
		{"padded base64", "p1", good + "="},
		{"line break inside (base64 would skip it)", "p1", good[:5] + "\r\n" + good[5:]},
		{"standard base64 alphabet", "p1", strings.NewReplacer("-", "+", "_", "/").Replace(good)},
		{"empty", "p1", ""},
		{"too long", "p1", good + strings.Repeat("A", MaxTokenLen)},
		{"a JWT", "p1", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			user, err := s.Verify(tt.paper, tt.token)
			if !errors.Is(err, ErrInvalid) || user != "" {
				t.Fatalf("Verify = %q, %v; want ErrInvalid", user, err)
			}
			if tt.token != "" && strings.Contains(err.Error(), tt.token) {
				t.Fatalf("error %q repeats the token", err)
			}
		})
	}
	if _, err := s.Verify("p1", good); err != nil {
		t.Fatalf("the untouched token no longer verifies: %v", err)
	}
}

func TestTokensExpire(t *testing.T) {
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	s := newSigner(t, Options{Secret: secret, TTL: time.Hour, Now: c.now})
	tok := issue(t, s, "p1", "alice")
	c.t = c.t.Add(time.Hour - time.Second)
	if _, err := s.Verify("p1", tok); err != nil {
		t.Fatalf("a second before expiry: %v", err)
	}
	c.t = c.t.Add(time.Second)
	if _, err := s.Verify("p1", tok); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("at expiry: err = %v, want expired", err)
	}
	fresh := issue(t, s, "p1", "alice")
	if user, err := s.Verify("p1", fresh); err != nil || user != "alice" {
		t.Fatalf("a token issued again: %q, %v", user, err)
	}
	if d := newSigner(t, Options{Secret: secret}); d.ttl != DefaultTTL {
		t.Fatalf("default TTL %v", d.ttl)
	}
}

// TestSecretRotation: after a rotation the old secret, listed as previous,
// still verifies the tokens it signed; new tokens use the new secret;
// once the old secret is dropped its tokens stop working.
func TestSecretRotation(t *testing.T) {
	before := newSigner(t, Options{Secret: oldSecret})
	oldTok := issue(t, before, "p1", "alice")

	rotated := newSigner(t, Options{Secret: secret, Previous: []string{oldSecret}})
	if user, err := rotated.Verify("p1", oldTok); err != nil || user != "alice" {
		t.Fatalf("old token during rotation: %q, %v", user, err)
	}
	newTok := issue(t, rotated, "p1", "alice")
	if _, err := before.Verify("p1", newTok); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a new token verified with the old secret alone: %v", err)
	}
	after := newSigner(t, Options{Secret: secret})
	if _, err := after.Verify("p1", newTok); err != nil {
		t.Fatalf("new token after rotation: %v", err)
	}
	if _, err := after.Verify("p1", oldTok); !errors.Is(err, ErrInvalid) {
		t.Fatalf("old token after the old secret was dropped: %v", err)
	}
}

func TestNewRefusesWeakOptions(t *testing.T) {
	for name, o := range map[string]Options{
		"empty secret":          {},
		"short secret":          {Secret: "short"},
		"short previous secret": {Secret: secret, Previous: []string{"old"}},
		"negative TTL":          {Secret: secret, TTL: -time.Second},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestIssueRefusesBadUserIDs(t *testing.T) {
	s := newSigner(t, Options{Secret: secret})
	for _, user := range []string{"", strings.Repeat("x", MaxUserLen+1), "\xff"} {
		if _, err := s.Issue("p1", user); err == nil {
			t.Errorf("Issue(%q) succeeded", user)
		}
	}
}

func TestMintedIDsAndSecrets(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := NewUserID()
		if !strings.HasPrefix(id, "g_") || len(id) != 22 || seen[id] {
			t.Fatalf("NewUserID = %q (seen before: %v)", id, seen[id])
		}
		seen[id] = true
	}
	a, b := GenerateSecret(), GenerateSecret()
	if len(a) < MinSecretLen || a == b {
		t.Fatalf("GenerateSecret = %q, %q", a, b)
	}
	if _, err := New(Options{Secret: a}); err != nil {
		t.Fatalf("a generated secret is refused: %v", err)
	}
}

// FuzzVerify: no input panics, and whatever verifies is exactly the token
// the signer would issue for that user and expiry (no second spelling, no
// forged payload).
func FuzzVerify(f *testing.F) {
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	s, err := New(Options{Secret: secret, Now: c.now})
	if err != nil {
		f.Fatal(err)
	}
	for _, user := range []string{"alice", "g_AAAAAAAAAAAAAAAAAAAA", "Zoë"} {
		tok, err := s.Issue("p1", user)
		if err != nil {
			f.Fatal(err)
		}
		f.Add("p1", tok)
		f.Add("p2", tok)
	}
	f.Add("p1", "g1..")
	f.Add("p1", "g1.AA.AA")
	f.Fuzz(func(t *testing.T, paper, token string) {
		user, err := s.Verify(paper, token)
		if err != nil {
			if !errors.Is(err, ErrInvalid) || user != "" {
				t.Fatalf("Verify(%q, %q) = %q, %v", paper, token, user, err)
			}
			return
		}
		payload, _ := b64.DecodeString(strings.Split(token, ".")[1])
		exp, _ := decodeExp(payload)
		if again := s.sign(s.keys[0], paper, exp, user); again != token {
			t.Fatalf("Verify accepted %q for %q, but the signer writes %q", token, user, again)
		}
	})
}
