package domain

import (
	"encoding/json"
	"strconv"
	"time"
)

// Paper statuses.
const (
	StatusOpen  = "open"
	StatusFinal = "final"
)

// Edit policies: who may change or delete an element that exists.
const (
	// EditAuthors: only the element's author, or an owner session. The
	// default for new papers.
	EditAuthors = "authors"
	// EditOpen: anyone on the paper (a whiteboard).
	EditOpen = "open"
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
	// Edit is the edit policy: EditAuthors or EditOpen.
	Edit string
	// OwnerKeyHash is the SHA-256 of the owner key; the key itself is never stored.
	OwnerKeyHash []byte
}

// ETag identifies a version of the paper's document: seq only grows within
// one epoch, and a new epoch means new data, so epoch and seq together name
// one version. The REST API sends it as the ETag header; the archive keeps it
// beside the document, so an archived paper answers with the tag it had when
// it was live.
func (p Paper) ETag() string {
	return `"` + p.Epoch + "-" + strconv.FormatUint(p.Seq, 10) + `"`
}

// Element is one note (or any other object) on a paper. Fields are free-form
// JSON values owned by the frontend; the server only enforces limits. By and
// CreatedAt are stamped by the server when the element is created and never
// change afterwards, whoever edits it.
type Element struct {
	ID        string
	By        ElementAuthor
	CreatedAt time.Time // whole seconds, UTC
	Fields    map[string]json.RawMessage
}

// ElementAuthor is who created an element: the creating session's identity
// (its user id and display name; not the session, which is transient).
type ElementAuthor struct {
	User string
	Name string
}

// Document is a paper with its elements in creation order, as of Paper.Seq.
type Document struct {
	Paper    Paper
	Elements []Element
}
