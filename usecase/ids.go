package usecase

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
)

// randomID returns n random bytes as unpadded base64url: [A-Za-z0-9_-], so
// ids are valid in paths, keys and Redis hash tags.
func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// NewPaperID returns a fresh paper id (16 characters, 96 bits).
func NewPaperID() string { return randomID(12) }

// NewSessionID returns a fresh session id (16 characters, 96 bits).
func NewSessionID() string { return randomID(12) }

// NewEpoch returns a fresh epoch id for a paper's data.
func NewEpoch() string { return randomID(9) }

// newOwnerKey returns a fresh owner key (256 bits).
func newOwnerKey() string { return randomID(32) }

// HashOwnerKey is how owner keys are stored: never the key itself.
func HashOwnerKey(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// ownerKeyMatches compares in constant time so timing tells nothing.
func ownerKeyMatches(key string, hash []byte) bool {
	return subtle.ConstantTimeCompare(HashOwnerKey(key), hash) == 1
}
