// Package domain holds papercast's entities and errors. It imports nothing
// from the project and only the standard library.
package domain

import "errors"

// Domain errors. Deliveries map them to wire codes in exactly one place each
// (delivery/ws/errors.go, delivery/rest/errors.go). Wrap them with context;
// callers test with errors.Is.
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
)
