package protocol

// Disconnect is one way the server ends a WebSocket session: the close code,
// the text sent with it, and whether the client should reconnect. This file
// is the one table of close codes (docs/protocol.md lists the same, and a
// test holds the two together).
type Disconnect struct {
	Code int
	// Reason is the close frame's text, for people and logs; clients act on
	// Code. At most 123 bytes (a close frame's payload limit).
	Reason string
	// Reconnect: the client should reconnect (with since/epoch, after the
	// delay the reconnect recipe gives for the code). False: it should stop.
	Reconnect bool
}

// The close codes of protocol v1.
var (
	// DisconnectGoingAway: the server is shutting down (deploy, restart).
	DisconnectGoingAway = Disconnect{Code: 1001, Reason: "server going away", Reconnect: true}
	// DisconnectResync: the server can no longer promise this session a
	// gap-free stream (its bus lost events beyond history); same code as
	// going away, so clients resume at once.
	DisconnectResync = Disconnect{Code: 1001, Reason: "resync: reconnect with since/epoch", Reconnect: true}
	// DisconnectPolicy: sustained abuse (rate-limited frames in a row).
	DisconnectPolicy = Disconnect{Code: 1008, Reason: "policy violation", Reconnect: false}
	// DisconnectTooLarge: a frame over the read limit.
	DisconnectTooLarge = Disconnect{Code: 1009, Reason: "frame too large", Reconnect: true}
	// DisconnectInternal: a server bug (a recovered panic).
	DisconnectInternal = Disconnect{Code: 1011, Reason: "internal error", Reconnect: true}
	// DisconnectTryLater: the join failed after the upgrade (store
	// unreachable, server shutting down); after an error frame.
	DisconnectTryLater = Disconnect{Code: 1013, Reason: "try again later", Reconnect: true}
	// DisconnectBanned: the paper's owner banned this user (or the user,
	// banned, tried to join, after an error forbidden).
	DisconnectBanned = Disconnect{Code: 4003, Reason: "banned from this paper", Reconnect: false}
	// DisconnectDeleted: the paper was deleted (or vanished while joining,
	// after an error not_found).
	DisconnectDeleted = Disconnect{Code: 4004, Reason: "paper deleted", Reconnect: false}
	// DisconnectTooSlow: the client did not read its frames fast enough and
	// its send buffer overflowed.
	DisconnectTooSlow = Disconnect{Code: 4008, Reason: "too slow", Reconnect: true}
	// DisconnectFull: the join was refused for capacity (the replica or the
	// paper holds its maximum of sessions); after an error full.
	DisconnectFull = Disconnect{Code: 4013, Reason: "full: reconnect later with backoff", Reconnect: true}
)

// Disconnects is every close code the server sends, in the order
// docs/protocol.md lists them.
var Disconnects = []Disconnect{
	DisconnectGoingAway, DisconnectResync, DisconnectPolicy, DisconnectTooLarge, DisconnectInternal,
	DisconnectTryLater, DisconnectBanned, DisconnectDeleted, DisconnectTooSlow, DisconnectFull,
}
