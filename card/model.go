// Package card renders a paper as the finished card people keep: the title
// and recipient, then every note in an arranged layout where nothing
// overlaps and no text is clipped, each with its author. It is pure: a
// document in, PNG or PDF bytes out, no HTTP. Text is shaped with go-text
// (a HarfBuzz port: bidi, Arabic joining, font fallback) and rasterized
// with golang.org/x/image/vector; fonts are files on disk (see fonts.go).
package card

import (
	"encoding/json"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/papercast/papercast/domain"
)

// Card is what a card shows, taken from a document.
type Card struct {
	Title string
	To    string
	Final bool
	// Date is when the paper was finalized (or created, for an open paper).
	Date  time.Time
	Notes []Note // in reading order
}

// Note is one note on the card.
type Note struct {
	Text   string
	Color  string // a CSS hex color as the board writes it; anything else is the default yellow
	Author string // display name; empty draws no signature
}

// Element fields the board writes (web/static/board.js): text, color, and
// the position x, y on its 2400x1600 board.
const (
	fieldText  = "text"
	fieldColor = "color"
	fieldX     = "x"
	fieldY     = "y"
)

// rowBand is the height of a board row for reading order: notes whose tops
// are in the same band (the board's note height) read left to right.
const rowBand = 160

// FromDocument takes a card from a document. Elements without text (empty
// notes, or objects that are not notes) are left out: there is nothing to
// read. Notes are in reading order of their board position: by row band,
// then left to right; notes without a position follow in creation order.
func FromDocument(doc domain.Document) Card {
	p := doc.Paper
	c := Card{Title: p.Title, To: p.To, Final: p.Status == domain.StatusFinal, Date: p.CreatedAt}
	if p.FinalizedAt != nil {
		c.Date = *p.FinalizedAt
	}
	type placed struct {
		note   Note
		band   float64
		x      float64
		hasPos bool
	}
	notes := make([]placed, 0, len(doc.Elements))
	for _, el := range doc.Elements {
		text := stringField(el.Fields, fieldText)
		if strings.TrimSpace(text) == "" {
			continue
		}
		x, okX := numberField(el.Fields, fieldX)
		y, okY := numberField(el.Fields, fieldY)
		notes = append(notes, placed{
			note:   Note{Text: text, Color: stringField(el.Fields, fieldColor), Author: authorOf(el)},
			band:   math.Floor(y / rowBand),
			x:      x,
			hasPos: okX && okY,
		})
	}
	sort.SliceStable(notes, func(i, j int) bool {
		a, b := notes[i], notes[j]
		if a.hasPos != b.hasPos {
			return a.hasPos
		}
		if !a.hasPos {
			return false
		}
		if a.band != b.band {
			return a.band < b.band
		}
		return a.x < b.x
	})
	c.Notes = make([]Note, len(notes))
	for i, n := range notes {
		c.Notes[i] = n.note
	}
	return c
}

func stringField(fields map[string]json.RawMessage, name string) string {
	raw, ok := fields[name]
	if !ok {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

func numberField(fields map[string]json.RawMessage, name string) (float64, bool) {
	raw, ok := fields[name]
	if !ok {
		return 0, false
	}
	var f float64
	if json.Unmarshal(raw, &f) != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// authorOf is the name a note is signed with: its server-stamped author's
// display name (an empty name, or a note stored before authors were
// recorded, signs nothing; a user id is no name to sign with).
func authorOf(el domain.Element) string {
	return el.By.Name
}
