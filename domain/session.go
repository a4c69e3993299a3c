package domain

// CloseReason says why the server ends a live session. Each delivery maps it
// to its own close code in one place (delivery/ws/close.go).
type CloseReason int

// Close reasons.
const (
	CloseGoingAway CloseReason = iota + 1 // server shutting down: reconnect with since/epoch
	CloseResync                           // server cannot guarantee a gap-free stream: reconnect with since/epoch
	CloseDeleted                          // the paper was deleted
	CloseTooSlow                          // the client did not keep up with its send buffer
	ClosePolicy                           // abuse: rate limits or protocol violations
	CloseInternal                         // a bug: recovered panic
	CloseTooLarge                         // frame over the read limit
)

func (r CloseReason) String() string {
	switch r {
	case CloseGoingAway:
		return "going away"
	case CloseResync:
		return "resync"
	case CloseDeleted:
		return "paper deleted"
	case CloseTooSlow:
		return "too slow"
	case ClosePolicy:
		return "policy violation"
	case CloseInternal:
		return "internal error"
	case CloseTooLarge:
		return "frame too large"
	}
	return "unknown"
}
