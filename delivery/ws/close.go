package ws

import (
	"errors"

	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/protocol"
)

// Close codes of protocol v1.
const (
	CloseGoingAway = 1001 // server going away: reconnect with since/epoch
	ClosePolicy    = 1008 // policy violation (abuse)
	CloseTooLarge  = 1009 // frame over the read limit
	CloseInternal  = 1011 // server bug (a recovered panic)
	CloseTryLater  = 1013 // the server or store cannot take the session now
	CloseDeleted   = 4004 // the paper was deleted
	CloseTooSlow   = 4008 // too slow to keep up: reconnect with since/epoch
)

// closeCode maps a close reason to its code and the text sent with it.
func closeCode(r domain.CloseReason) (int, string) {
	switch r {
	case domain.CloseGoingAway:
		return CloseGoingAway, "server going away"
	case domain.CloseResync:
		return CloseGoingAway, "resync: reconnect with since/epoch"
	case domain.CloseDeleted:
		return CloseDeleted, "paper deleted"
	case domain.CloseTooSlow:
		return CloseTooSlow, "too slow"
	case domain.ClosePolicy:
		return ClosePolicy, "policy violation"
	case domain.CloseTooLarge:
		return CloseTooLarge, "frame too large"
	}
	return CloseInternal, "internal error"
}

// errorCode maps a domain error to the error frame's code. It is the one
// place where the WebSocket delivery decides what a failure means on the wire.
func errorCode(err error) string {
	switch {
	case errors.Is(err, domain.ErrInvalid):
		return protocol.CodeInvalid
	case errors.Is(err, domain.ErrNotFound):
		return protocol.CodeNotFound
	case errors.Is(err, domain.ErrFinalized), errors.Is(err, domain.ErrConflict):
		return protocol.CodeFinalized
	case errors.Is(err, domain.ErrTooLarge):
		return protocol.CodeTooLarge
	case errors.Is(err, domain.ErrRateLimited):
		return protocol.CodeRateLimited
	case errors.Is(err, domain.ErrUnsupported):
		return protocol.CodeUnsupported
	case errors.Is(err, domain.ErrForbidden), errors.Is(err, domain.ErrUnauthorized):
		return protocol.CodeForbidden
	case errors.Is(err, domain.ErrUnavailable), errors.Is(err, domain.ErrFull):
		return protocol.CodeUnavailable
	}
	return protocol.CodeUnavailable
}

// errorMessage is the person-readable text of an error frame: the domain
// error's own text for client mistakes, a fixed one for server-side trouble
// so internal details never leak.
func errorMessage(code string, err error) string {
	if code == protocol.CodeUnavailable && !errors.Is(err, domain.ErrUnavailable) && !errors.Is(err, domain.ErrFull) {
		return "the server could not complete this request; try again"
	}
	if code == protocol.CodeUnavailable {
		return "the store is unavailable; try again"
	}
	return err.Error()
}
