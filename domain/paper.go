package domain

import (
	"encoding/json"
	"time"
)

// Paper statuses.
const (
	StatusOpen  = "open"
	StatusFinal = "final"
)

// Paper is a rolling paper's metadata.
type Paper struct {
	ID          string
	Title       string
	To          string
	Status      string
	Seq         uint64 // seq of the last op applied (0 for a new paper)
	Epoch       string // random id of this incarnation of the paper's data
	CreatedAt   time.Time
	FinalizedAt *time.Time
	// OwnerKeyHash is the SHA-256 of the owner key; the key itself is never stored.
	OwnerKeyHash []byte
}

// Element is one note (or any other object) on a paper. Fields are free-form
// JSON values owned by the frontend; the server only enforces limits.
type Element struct {
	ID     string
	Fields map[string]json.RawMessage
}

// Document is a paper with its elements in creation order, as of Paper.Seq.
type Document struct {
	Paper    Paper
	Elements []Element
}
