package domain

// CloseReason says why the use case ends a live session. Each delivery maps
// it to its own close code in one place (delivery/ws/close.go); reasons only
// a delivery can have (a slow or abusive client, a frame too large, a bug)
// are the delivery's own.
type CloseReason int

// Close reasons.
const (
	CloseGoingAway CloseReason = iota + 1 // server shutting down: reconnect with since/epoch
	CloseResync                           // server cannot guarantee a gap-free stream: reconnect with since/epoch
	CloseDeleted                          // the paper was deleted
	CloseBanned                           // the owner banned this user from the paper: do not reconnect
)

// CloseReasons lists every close reason, so the deliveries' tests can check
// that each one has its close code.
func CloseReasons() []CloseReason {
	return []CloseReason{CloseGoingAway, CloseResync, CloseDeleted, CloseBanned}
}

func (r CloseReason) String() string {
	switch r {
	case CloseGoingAway:
		return "going away"
	case CloseResync:
		return "resync"
	case CloseDeleted:
		return "paper deleted"
	case CloseBanned:
		return "banned"
	}
	return "unknown"
}
