// Package domain holds papercast's entities and errors. It imports nothing
// from the project and only the standard library.
package domain

import (
	"errors"
	"fmt"
)

// Domain errors. Each delivery maps them to wire codes (protocol/errors.go)
// in exactly one function (delivery/ws/errors.go, delivery/rest/errors.go).
// Wrap them with context; callers test with errors.Is.
var (
	ErrNotFound     = errors.New("not found")
	ErrInvalid      = errors.New("invalid")
	ErrFinalized    = errors.New("paper is finalized")
	ErrForbidden    = errors.New("forbidden")
	ErrUnauthorized = errors.New("unauthorized")
	ErrUnavailable  = errors.New("store unavailable")
	ErrTooLarge     = errors.New("too large")
	ErrRateLimited  = errors.New("rate limited")
	ErrConflict     = errors.New("conflict")
	ErrUnsupported  = errors.New("unsupported")
	ErrFull         = errors.New("capacity reached")
	// ErrOverloaded refuses an op before it reaches the store, so unlike a
	// timeout (ErrUnavailable) it means the op was certainly not applied.
	ErrOverloaded = errors.New("not applied, too many ops in flight on this replica; retry after backoff")
	// ErrFiltered refuses text holding a blocked word (the content filter
	// under its reject policy): nothing is stored.
	ErrFiltered = errors.New("filtered")
)

// Errors lists every domain error, so the deliveries' tests can check that
// each one has its wire code.
func Errors() []error {
	return []error{
		ErrNotFound, ErrInvalid, ErrFinalized, ErrForbidden, ErrUnauthorized, ErrUnavailable,
		ErrTooLarge, ErrRateLimited, ErrConflict, ErrUnsupported, ErrFull, ErrOverloaded, ErrFiltered, ErrBanned,
	}
}

// ErrBanned means the paper's owner removed this user from the paper: their
// edits are refused and their sessions closed. It is a kind of ErrForbidden
// (the wire code is the same), told apart where a delivery closes the
// session for it.
var ErrBanned = fmt.Errorf("%w: banned from this paper", ErrForbidden)
