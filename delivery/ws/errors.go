package ws

import (
	"errors"

	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/protocol"
)

// refusal is how the WebSocket delivery answers a failure: the error
// frame's code and text and, when the failure refused a join, the close
// that follows the frame.
type refusal struct {
	code    string
	message string
	close   protocol.Disconnect
}

// classify is the one place where the WebSocket delivery decides what a
// failure means on the wire. Domain errors are matched with errors.Is, so
// wrapping keeps working; anything else is server-side trouble the client
// may retry, and its text stays in the log.
func classify(err error) refusal {
	code, close := protocol.CodeUnavailable, protocol.DisconnectTryLater
	switch {
	case errors.Is(err, domain.ErrInvalid):
		code = protocol.CodeInvalid
	case errors.Is(err, domain.ErrNotFound):
		code, close = protocol.CodeNotFound, protocol.DisconnectDeleted
	case errors.Is(err, domain.ErrFinalized), errors.Is(err, domain.ErrConflict):
		code = protocol.CodeFinalized
	case errors.Is(err, domain.ErrTooLarge):
		code = protocol.CodeTooLarge
	case errors.Is(err, domain.ErrRateLimited):
		code = protocol.CodeRateLimited
	case errors.Is(err, domain.ErrUnsupported):
		code = protocol.CodeUnsupported
	case errors.Is(err, domain.ErrBanned):
		code, close = protocol.CodeForbidden, protocol.DisconnectBanned
	case errors.Is(err, domain.ErrForbidden), errors.Is(err, domain.ErrUnauthorized):
		code = protocol.CodeForbidden
	case errors.Is(err, domain.ErrFull):
		code, close = protocol.CodeFull, protocol.DisconnectFull
	case errors.Is(err, domain.ErrOverloaded):
		code = protocol.CodeOverloaded
	case errors.Is(err, domain.ErrFiltered):
		// At a join (a name the delivery did not screen before the
		// upgrade), the same name would be refused again.
		code, close = protocol.CodeFiltered, protocol.DisconnectPolicy
	case errors.Is(err, domain.ErrUnavailable):
		code = protocol.CodeUnavailable
	}
	return refusal{code: code, message: protocol.MessageFor(code, err), close: close}
}
