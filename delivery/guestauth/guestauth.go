// Package guestauth issues and verifies guest tokens: in guest mode (no
// JWT) the server, not the client, says who a connection is. The first
// frame of a session carries a token for its user id; a later connection
// that presents it (`?token=`) is that user again, whatever `?user=` says,
// and a connection without a valid token gets a fresh server-minted id
// (NewUserID), so knowing someone's user id gives no rights over their
// notes.
//
// A token is bound to one paper. Identity in guest mode matters only
// inside a paper (authorship, edit rights, bans are all per paper), and a
// token rides in a WebSocket URL, which ends up in proxy and server logs:
// a token that leaks from one paper's URL grants nothing on any other.
// A person who signs several papers simply holds one token per paper.
//
// Format: "g1.<payload>.<mac>", both parts unpadded base64url (strict,
// so each token has exactly one spelling). The payload is the expiry
// (unix seconds, uvarint) followed by the user id; the mac is
// HMAC-SHA256 over a domain label, the paper id and the payload. The "g1"
// prefix names the format so it can change; a list of previous secrets
// keeps tokens valid across a secret rotation until they expire.
package guestauth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Version is the token format this package issues.
const Version = "g1"

// Limits.
const (
	// MinSecretLen is the shortest secret accepted (256 bits).
	MinSecretLen = 32
	// MaxUserLen matches the WebSocket's limit on a user id.
	MaxUserLen = 128
	// MaxTokenLen bounds the work spent on any presented token.
	MaxTokenLen = 256
	// DefaultTTL is a token's lifetime unless Options.TTL says otherwise.
	// Every join hands out a fresh token, so only a person away for that
	// long loses their identity on the paper.
	DefaultTTL = 90 * 24 * time.Hour
)

// ErrInvalid is the error of every token that does not verify: malformed,
// forged, tampered with, signed with an unknown secret, for another paper,
// or expired. A connection presenting one is treated as presenting none.
var ErrInvalid = errors.New("invalid guest token")

// Options configure a Signer.
type Options struct {
	// Secret signs new tokens and verifies them (auth.guest_secret).
	Secret string
	// Previous secrets only verify: after a rotation, list the old secret
	// here until the tokens it signed have expired.
	Previous []string
	// TTL is how long an issued token is valid; 0 means DefaultTTL.
	TTL time.Duration
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
}

// Signer issues and verifies guest tokens. It is immutable and safe for
// concurrent use.
type Signer struct {
	keys [][]byte // keys[0] signs; all verify
	ttl  time.Duration
	now  func() time.Time
}

// New returns a Signer. Every secret must be at least MinSecretLen bytes.
func New(o Options) (*Signer, error) {
	s := &Signer{ttl: o.TTL, now: o.Now}
	if s.ttl == 0 {
		s.ttl = DefaultTTL
	}
	if s.ttl < 0 {
		return nil, fmt.Errorf("guest token TTL %v: must be positive", o.TTL)
	}
	if s.now == nil {
		s.now = time.Now
	}
	for i, secret := range append([]string{o.Secret}, o.Previous...) {
		if len(secret) < MinSecretLen {
			what := "auth.guest_secret"
			if i > 0 {
				what = fmt.Sprintf("previous guest secret %d", i)
			}
			return nil, fmt.Errorf("%s must be at least %d bytes, got %d", what, MinSecretLen, len(secret))
		}
		s.keys = append(s.keys, []byte(secret))
	}
	return s, nil
}

// GenerateSecret returns a fresh random secret, for a single process that
// was configured without one (its tokens die with it).
func GenerateSecret() string { return random(32) }

// NewUserID mints a user id for a connection that proved no identity:
// "g_" and 120 random bits, so nobody can guess or choose it.
func NewUserID() string { return "g_" + random(15) }

func random(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

var b64 = base64.RawURLEncoding.Strict()

// Issue returns a token for user on paper paperID, valid for the TTL.
func (s *Signer) Issue(paperID, user string) (string, error) {
	if err := validUser(user); err != nil {
		return "", err
	}
	return s.sign(s.keys[0], paperID, s.now().Add(s.ttl).Unix(), user), nil
}

func validUser(user string) error {
	if user == "" || len(user) > MaxUserLen || !utf8.ValidString(user) {
		return fmt.Errorf("guest token: user id must be 1-%d bytes of UTF-8", MaxUserLen)
	}
	return nil
}

func (s *Signer) sign(key []byte, paperID string, exp int64, user string) string {
	payload := binary.AppendUvarint(nil, uint64(exp))
	payload = append(payload, user...)
	p := b64.EncodeToString(payload)
	m := b64.EncodeToString(mac(key, paperID, payload))
	return Version + "." + p + "." + m
}

// mac is HMAC-SHA256 over a label naming this use and format, the paper
// id (length first, so no two inputs run together) and the payload.
func mac(key []byte, paperID string, payload []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte("papercast guest token " + Version + "\x00"))
	h.Write(binary.AppendUvarint(nil, uint64(len(paperID))))
	h.Write([]byte(paperID))
	h.Write(payload)
	return h.Sum(nil)
}

// Verify returns the user id the token was issued for on paperID. Every
// failure wraps ErrInvalid; the error never contains the token.
func (s *Signer) Verify(paperID, token string) (string, error) {
	if len(token) > MaxTokenLen {
		return "", fmt.Errorf("%w: too long", ErrInvalid)
	}
	// encoding/base64 skips line breaks; a token has none, so that no
	// token has a second spelling.
	for i := 0; i < len(token); i++ {
		if c := token[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return "", fmt.Errorf("%w: malformed", ErrInvalid)
		}
	}
	version, rest, ok := strings.Cut(token, ".")
	if !ok || version != Version {
		return "", fmt.Errorf("%w: not a %s token", ErrInvalid, Version)
	}
	p, m, ok := strings.Cut(rest, ".")
	if !ok {
		return "", fmt.Errorf("%w: malformed", ErrInvalid)
	}
	payload, err1 := b64.DecodeString(p)
	got, err2 := b64.DecodeString(m)
	if err1 != nil || err2 != nil || len(got) != sha256.Size {
		return "", fmt.Errorf("%w: malformed", ErrInvalid)
	}
	signed := false
	for _, key := range s.keys {
		// Every key is tried, so the time taken does not tell which one
		// (or whether any) matched.
		if hmac.Equal(got, mac(key, paperID, payload)) {
			signed = true
		}
	}
	if !signed {
		return "", fmt.Errorf("%w: bad signature", ErrInvalid)
	}
	// Only a payload the server signed is parsed past this point.
	exp, n := decodeExp(payload)
	if n <= 0 {
		return "", fmt.Errorf("%w: malformed", ErrInvalid)
	}
	user := string(payload[n:])
	if validUser(user) != nil {
		return "", fmt.Errorf("%w: malformed", ErrInvalid)
	}
	if !s.now().Before(time.Unix(exp, 0)) {
		return "", fmt.Errorf("%w: expired", ErrInvalid)
	}
	return user, nil
}

// decodeExp reads the expiry at the start of a payload and its length in
// bytes (0 or less when there is none).
func decodeExp(payload []byte) (int64, int) {
	exp, n := binary.Uvarint(payload)
	if exp > 1<<62 {
		return 0, -1
	}
	return int64(exp), n
}
