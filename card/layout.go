package card

import "image"

// Geometry of a card, in pixels. A note is as wide as four-and-a-bit board
// notes' text needs to stay comfortable to read; it grows downwards with
// its text, so nothing is ever clipped.
const (
	noteWidth     = 264
	notePad       = 18
	noteMinHeight = 120
	noteRadius    = 8
	signatureGap  = 12 // between a note's text and its author
	colGap        = 24
	margin        = 56
	minCardWidth  = 720
	headerGap     = 10 // between the title and "To ..."
	notesTop      = 40 // between the header and the first row of notes
	footerGap     = 36 // between the notes and the footer
	bottomMargin  = 40
	maxColumns    = 6
	baseColumns   = 4
	// A card taller than tallFactor times its width gets another column.
	tallFactor = 1.6
)

var (
	titleStyle  = style{size: 40, lineHeight: 1.25, bold: true, align: alignCenter}
	toStyle     = style{size: 22, lineHeight: 1.35, align: alignCenter}
	noteStyle   = style{size: 17, lineHeight: 1.45}
	authorStyle = style{size: 14, lineHeight: 1.35, bold: true, align: alignEnd}
	footerStyle = style{size: 13, lineHeight: 1.35, align: alignCenter}
)

// masonry places boxes of the given heights, in order, each into the
// column that is currently shortest (the leftmost of equals), and returns
// their rectangles relative to the top-left of the notes area and the
// area's height. Boxes never overlap: each starts below the previous box
// of its column.
func masonry(heights []int, cols int) ([]image.Rectangle, int) {
	bottoms := make([]int, cols)
	rects := make([]image.Rectangle, len(heights))
	for i, h := range heights {
		c := 0
		for k := 1; k < cols; k++ {
			if bottoms[k] < bottoms[c] {
				c = k
			}
		}
		x := c * (noteWidth + colGap)
		y := bottoms[c]
		if y > 0 {
			y += colGap
		}
		rects[i] = image.Rect(x, y, x+noteWidth, y+h)
		bottoms[c] = y + h
	}
	height := 0
	for _, b := range bottoms {
		height = max(height, b)
	}
	return rects, height
}

// columnsWidth is the width of the notes area with cols columns.
func columnsWidth(cols int) int { return cols*noteWidth + (cols-1)*colGap }

// cardWidth is the width of a card whose notes use cols columns.
func cardWidth(cols int) int { return max(minCardWidth, columnsWidth(cols)+2*margin) }

// chooseColumns picks the number of columns: as many as there are notes up
// to baseColumns, and more while the card would be much taller than wide,
// up to maxColumns.
func chooseColumns(heights []int) int {
	cols := max(1, min(len(heights), baseColumns))
	for cols < maxColumns && cols < len(heights) {
		_, h := masonry(heights, cols)
		if float64(h) <= tallFactor*float64(cardWidth(cols)) {
			break
		}
		cols++
	}
	return cols
}
