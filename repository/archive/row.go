// Package archive is what the archive drivers (repository/archive/sqlite,
// repository/archive/postgres) share: the row a final document becomes, the
// encoding of its elements, and the migration runner. It knows no database.
package archive

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/paper"
	"github.com/papercast/papercast/protocol"
)

// Row is a final document as an archive table holds it: the paper's
// metadata in columns, its elements in one JSON text column, and the
// document's ETag, so an archived paper answers with the tag it had live.
type Row struct {
	ID          string
	Title       string
	To          string
	Status      string
	Seq         int64 // domain seq; ToRow refuses one above math.MaxInt64 (SQL integers are signed)
	Epoch       string
	CreatedAt   time.Time // UTC
	FinalizedAt *time.Time
	Edit        string
	// OwnerKeyHash is the SHA-256 of the owner key (never the key); nil for
	// a paper that has none.
	OwnerKeyHash []byte
	// Elements is the JSON array protocol.AppendElements writes, the same
	// bytes a client reads in a snapshot or from GET /v1/papers/{id}.
	Elements string
	ETag     string
}

// ToRow turns a final document into a row, or fails with domain.ErrInvalid
// when the archive could not give the document back exactly as it is:
// it is not final, its id is not a paper id, a text is not UTF-8 or holds
// a NUL (PostgreSQL text cannot), a time is finer than a microsecond
// (PostgreSQL's timestamptz) or beyond year 9999, its seq overflows a signed 64-bit
// integer, or an element would not decode to itself (a field value that is
// not compact JSON, a reserved field name, an author name without a user, a
// creation time finer than a second). The last check decodes what it
// encoded, so every rule of the encoding is enforced by one comparison
// rather than a list that could drift from it.
func ToRow(doc domain.Document) (Row, error) {
	p := doc.Paper
	switch {
	case !paper.ValidID(p.ID):
		return Row{}, fmt.Errorf("archive: paper id %q: %w", p.ID, domain.ErrInvalid)
	case p.Status != domain.StatusFinal:
		return Row{}, fmt.Errorf("archive: paper %s is %q, only final papers are archived: %w", p.ID, p.Status, domain.ErrInvalid)
	case p.Seq > math.MaxInt64:
		return Row{}, fmt.Errorf("archive: paper %s: seq %d overflows a SQL integer: %w", p.ID, p.Seq, domain.ErrInvalid)
	}
	for _, f := range []struct {
		name string
		t    *time.Time
	}{{"createdAt", &p.CreatedAt}, {"finalizedAt", p.FinalizedAt}} {
		if f.t != nil && !storableTime(*f.t) {
			return Row{}, fmt.Errorf("archive: paper %s: %s %v is finer than a microsecond or outside years 1-9999: %w",
				p.ID, f.name, *f.t, domain.ErrInvalid)
		}
	}
	for _, f := range []struct{ name, v string }{{"title", p.Title}, {"to", p.To}, {"epoch", p.Epoch}, {"edit", p.Edit}} {
		if err := storableText(f.v); err != nil {
			return Row{}, fmt.Errorf("archive: paper %s: %s: %w", p.ID, f.name, err)
		}
	}
	els := string(protocol.AppendElements(nil, doc.Elements))
	if err := storableText(els); err != nil {
		return Row{}, fmt.Errorf("archive: paper %s: elements: %w", p.ID, err)
	}
	back, err := DecodeElements([]byte(els))
	if err != nil {
		return Row{}, fmt.Errorf("archive: paper %s: elements do not decode: %v: %w", p.ID, err, domain.ErrInvalid)
	}
	for i := range doc.Elements {
		if !sameElement(doc.Elements[i], back[i]) {
			return Row{}, fmt.Errorf("archive: paper %s: element %d (%q) would not come back as it is "+
				"(field values must be compact JSON, names not reserved, createdAt whole seconds, a name needs a user): %w",
				p.ID, i, doc.Elements[i].ID, domain.ErrInvalid)
		}
	}
	r := Row{
		ID: p.ID, Title: p.Title, To: p.To, Status: p.Status, Seq: int64(p.Seq), Epoch: p.Epoch,
		CreatedAt: p.CreatedAt.UTC(), Edit: p.Edit, Elements: els, ETag: p.ETag(),
	}
	if p.FinalizedAt != nil {
		at := p.FinalizedAt.UTC()
		r.FinalizedAt = &at
	}
	if len(p.OwnerKeyHash) > 0 {
		r.OwnerKeyHash = bytes.Clone(p.OwnerKeyHash)
	}
	return r, nil
}

// storableTime is what every driver keeps exactly: PostgreSQL's timestamptz
// holds microseconds, and RFC 3339 text four-digit years.
func storableTime(t time.Time) bool {
	y := t.UTC().Year()
	return y >= 1 && y <= 9999 && t.Truncate(time.Microsecond).Equal(t)
}

// storableText is what every text column can hold: UTF-8 without NUL.
func storableText(s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("not UTF-8: %w", domain.ErrInvalid)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return fmt.Errorf("holds a NUL byte: %w", domain.ErrInvalid)
	}
	return nil
}

// sameElement compares what the archive must keep: id, author, creation
// instant and every field value byte for byte. A nil and an empty field map
// are the same (stores return either).
func sameElement(a, b domain.Element) bool {
	return a.ID == b.ID && a.By == b.By && a.CreatedAt.Equal(b.CreatedAt) &&
		maps.EqualFunc(a.Fields, b.Fields, func(x, y json.RawMessage) bool { return bytes.Equal(x, y) })
}

// Document turns a row back into the document that was put. An error means
// the row is corrupt (its elements do not decode): the archive wrote it, so
// this is never the caller's fault.
func (r Row) Document() (domain.Document, error) {
	els, err := DecodeElements([]byte(r.Elements))
	if err != nil {
		return domain.Document{}, fmt.Errorf("archive: paper %s: corrupt elements: %w", r.ID, err)
	}
	if r.Seq < 0 {
		return domain.Document{}, fmt.Errorf("archive: paper %s: corrupt seq %d", r.ID, r.Seq)
	}
	p := domain.Paper{
		ID: r.ID, Title: r.Title, To: r.To, Status: r.Status, Seq: uint64(r.Seq), Epoch: r.Epoch,
		CreatedAt: r.CreatedAt.UTC(), Edit: r.Edit,
	}
	if r.FinalizedAt != nil {
		at := r.FinalizedAt.UTC()
		p.FinalizedAt = &at
	}
	if len(r.OwnerKeyHash) > 0 {
		p.OwnerKeyHash = bytes.Clone(r.OwnerKeyHash)
	}
	return domain.Document{Paper: p, Elements: els}, nil
}
