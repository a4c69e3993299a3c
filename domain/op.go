package domain

import "encoding/json"

// Op kinds a client may send.
const (
	OpUpsert = "upsert"
	OpDelete = "delete"
)

// Op is one validated edit of one element.
type Op struct {
	Kind string // OpUpsert or OpDelete
	ID   string // element id
	// Fields to merge (upsert only). A value of JSON null removes the field.
	// The order the client sent them in is not kept: frames list fields in
	// name order (protocol.OpBody).
	Fields map[string]json.RawMessage
}

// Author identifies who made an op or holds a presence entry.
type Author struct {
	Session string `json:"session"`
	User    string `json:"user"`
	Name    string `json:"name,omitempty"`
}

// Presence is one session's ephemeral state on a paper.
type Presence struct {
	Session string          `json:"session"`
	User    string          `json:"user"`
	Name    string          `json:"name"`
	State   json.RawMessage `json:"state"`
}

// Event kinds carried on a paper's bus.
const (
	EventOp        = "op"
	EventFinalized = "finalized"
	EventPresence  = "presence"
	EventDeleted   = "deleted"
	// EventPolicy is a change of the paper's edit policy; it takes a seq.
	EventPolicy = "policy"
	// EventBan removes a user from the paper; it takes no seq and never
	// reaches a client: rooms close the user's sessions.
	EventBan = "ban"
	// EventEpoch says the paper's epoch was renewed because the store lost
	// seqs clients had seen (Store.RenewEpoch); it takes no seq and never
	// reaches a client: rooms close their sessions to resume, and a resume
	// with the old epoch gets a snapshot.
	EventEpoch = "epoch"
)

// Event is one message on a paper's bus. Frame is the exact wire frame sent
// to every session (encoded once, shared by all receivers: never mutate it).
// Seq is 0 for events that take no seq (presence, deleted, ban).
type Event struct {
	Kind  string
	Seq   uint64
	Frame []byte
}
