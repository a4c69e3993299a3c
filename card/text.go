package card

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	_ "image/jpeg" // bitmap glyphs may be JPEG
	"image/png"
	"math"
	"sort"
	"strings"
	"unicode"

	"github.com/go-text/typesetting/di"
	"github.com/go-text/typesetting/font"
	ot "github.com/go-text/typesetting/font/opentype"
	"github.com/go-text/typesetting/shaping"
	xdraw "golang.org/x/image/draw"
	"golang.org/x/image/math/fixed"
	"golang.org/x/image/vector"
	"golang.org/x/text/unicode/bidi"
)

// align places a line inside its box. Start and end follow the paragraph's
// direction: the start of a Hebrew or Arabic paragraph is its right edge.
type align uint8

const (
	alignStart align = iota
	alignCenter
	alignEnd
	alignLeft
	alignRight
)

// style is how one block of text looks.
type style struct {
	size       float32 // pixels per em
	lineHeight float32 // line pitch as a multiple of size
	bold       bool
	align      align
}

// textBlock is text shaped, split into paragraphs at newlines, wrapped to a
// width, and ready to draw.
type textBlock struct {
	lines  []textLine
	width  float32 // of the widest line
	height float32
}

// textLine is one line: its runs in visual order (left to right).
type textLine struct {
	runs     []shaping.Output
	width    float32
	rtl      bool    // the paragraph's direction, for alignment
	baseline float32 // from the block's top
}

func fx(v float32) fixed.Int26_6 { return fixed.Int26_6(math.Round(float64(v) * 64)) }
func fl(v fixed.Int26_6) float32 { return float32(v) / 64 }

// cleanText makes stored text drawable: CRLF and CR become newlines, tabs
// spaces, other control characters are dropped (invalid UTF-8 was already
// replaced when the JSON string was decoded), and Korean words are kept
// whole (see keepHangulWords).
func cleanText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return keepHangulWords(strings.Map(func(r rune) rune {
		switch {
		case r == '\n':
			return r
		case r == '\r':
			return '\n'
		case r == '\t':
			return ' '
		case unicode.IsControl(r):
			return -1
		}
		return r
	}, s))
}

// keepHangulWords puts a word joiner (U+2060, invisible) between adjacent
// Hangul syllables. Unicode's line breaking allows a break between any two
// of them, but Korean is read by words and typeset with breaks at spaces
// (CSS word-break: keep-all); a word longer than a line still breaks.
func keepHangulWords(s string) string {
	var b strings.Builder
	prev := false
	for _, r := range s {
		h := unicode.Is(unicode.Hangul, r)
		if h && prev {
			b.WriteRune('\u2060')
		}
		b.WriteRune(r)
		prev = h
	}
	return b.String()
}

// paragraphRTL reports the direction of a paragraph by its first strong
// character (the Unicode bidi rules P2 and P3, as dir="auto" in HTML).
func paragraphRTL(runes []rune) bool {
	for _, r := range runes {
		p, _ := bidi.LookupRune(r)
		switch p.Class() {
		case bidi.L:
			return false
		case bidi.R, bidi.AL:
			return true
		}
	}
	return false
}

// layoutText shapes and wraps s to maxWidth pixels. Words longer than a
// line break between graphemes, so nothing ever overflows the width.
func (w *worker) layoutText(s string, st style, maxWidth float32) textBlock {
	fm := w.regular
	if st.bold {
		fm = w.bold
	}
	asc, desc := w.metrics(fm, st.size)
	pitch := st.size * st.lineHeight
	// The baseline sits so that the font's ascent and descent are centred
	// in the line pitch.
	baseline := (pitch-(asc+desc))/2 + asc

	var b textBlock
	for _, para := range strings.Split(cleanText(s), "\n") {
		runes := []rune(para)
		if len(runes) == 0 {
			b.lines = append(b.lines, textLine{baseline: b.height + baseline})
			b.height += pitch
			continue
		}
		rtl := paragraphRTL(runes)
		dir := di.DirectionLTR
		if rtl {
			dir = di.DirectionRTL
		}
		in := shaping.Input{Text: runes, RunEnd: len(runes), Direction: dir, Size: fx(st.size)}
		split := fm.respace(w.seg.Split(in, fm))
		outs := make([]shaping.Output, len(split))
		for i, run := range split {
			outs[i] = w.shaper.Shape(run)
		}
		lines, _ := w.wrapper.WrapParagraphF(shaping.WrapConfig{Direction: dir}, fx(maxWidth), runes, shaping.NewSliceIterator(outs))
		for _, l := range lines {
			// The wrapper reuses its line slices: keep a copy, in visual order.
			runs := append([]shaping.Output(nil), l...)
			sort.Slice(runs, func(i, j int) bool { return runs[i].VisualIndex < runs[j].VisualIndex })
			var adv fixed.Int26_6
			for _, r := range runs {
				adv += r.Advance
			}
			tl := textLine{runs: runs, width: fl(adv), rtl: rtl, baseline: b.height + baseline}
			b.width = max(b.width, tl.width)
			b.lines = append(b.lines, tl)
			b.height += pitch
		}
	}
	return b
}

// metrics returns the ascent and descent (both positive, in pixels) of the
// first face of a map: the face most text is set in.
func (w *worker) metrics(fm *fontmap, size float32) (asc, desc float32) {
	f := fm.faces[0]
	ext, ok := f.FontHExtents()
	if !ok {
		return size * 0.9, size * 0.25
	}
	scale := size / float32(f.Upem())
	return ext.Ascender * scale, -ext.Descender * scale
}

// drawText draws a block with its top-left corner at (x, y), aligning each
// line inside a box of the given width.
func (w *worker) drawText(dst *image.RGBA, b textBlock, st style, x, y, width float32, c color.NRGBA) {
	for _, l := range b.lines {
		lx := x
		off := width - l.width
		switch st.align {
		case alignCenter:
			lx += off / 2
		case alignRight:
			lx += off
		case alignStart, alignEnd:
			if (st.align == alignEnd) != l.rtl {
				lx += off
			}
		}
		pen := lx
		by := y + l.baseline
		for _, run := range l.runs {
			for _, g := range run.Glyphs {
				w.drawGlyph(dst, run.Face, g, st.size, pen+fl(g.XOffset), by-fl(g.YOffset), c)
				pen += fl(g.Advance)
			}
		}
	}
}

// glyphKey identifies one rasterized glyph: outlines are cached per quarter
// pixel of horizontal position (the baseline is always on a whole pixel).
type glyphKey struct {
	font *font.Font
	gid  font.GID
	size fixed.Int26_6
	subx uint8
}

// glyphImage is a cached glyph: an alpha mask to fill with the text color,
// or a color image (an emoji bitmap) drawn as it is. off is the top-left
// corner relative to the glyph's origin (whole pixels).
type glyphImage struct {
	mask  *image.Alpha
	color *image.RGBA
	off   image.Point
}

// maxCachedGlyphs bounds one worker's glyph cache (a few MB at most).
const maxCachedGlyphs = 4096

func (w *worker) drawGlyph(dst *image.RGBA, face *font.Face, g shaping.Glyph, size, x, y float32, c color.NRGBA) {
	if g.GlyphID == font.EmptyGlyph {
		return
	}
	ix := float32(math.Floor(float64(x)))
	subx := uint8((x - ix) * 4)
	iy := int(math.Round(float64(y)))
	key := glyphKey{face.Font, g.GlyphID, fx(size), subx}
	gi, ok := w.glyphs[key]
	if !ok {
		gi = w.rasterize(face, g, size, float32(subx)/4)
		if len(w.glyphs) >= maxCachedGlyphs {
			clear(w.glyphs)
		}
		w.glyphs[key] = gi
	}
	at := image.Pt(int(ix), iy).Add(gi.off)
	switch {
	case gi.mask != nil:
		r := image.Rectangle{Min: at, Max: at.Add(gi.mask.Rect.Size())}
		draw.DrawMask(dst, r, image.NewUniform(c), image.Point{}, gi.mask, image.Point{}, draw.Over)
	case gi.color != nil:
		r := image.Rectangle{Min: at, Max: at.Add(gi.color.Rect.Size())}
		draw.Draw(dst, r, gi.color, image.Point{}, draw.Over)
	}
}

// rasterize renders one glyph at the given size and horizontal sub-pixel
// offset: outlines to a mask, bitmap glyphs (color emoji) scaled to the
// glyph's extents. A glyph with neither draws nothing.
func (w *worker) rasterize(face *font.Face, g shaping.Glyph, size, subx float32) glyphImage {
	switch d := face.GlyphData(g.GlyphID).(type) {
	case font.GlyphOutline:
		return w.rasterizeOutline(d, size/float32(face.Upem()), subx)
	case font.GlyphBitmap:
		if img := bitmapGlyph(d, g, subx); img.color != nil {
			return img
		}
		if d.Outline != nil {
			return w.rasterizeOutline(*d.Outline, size/float32(face.Upem()), subx)
		}
	case font.GlyphSVG:
		return w.rasterizeOutline(d.Outline, size/float32(face.Upem()), subx)
	}
	if o, ok := face.GlyphDataOutline(g.GlyphID); ok {
		return w.rasterizeOutline(o, size/float32(face.Upem()), subx)
	}
	return glyphImage{}
}

func (w *worker) rasterizeOutline(o font.GlyphOutline, scale, subx float32) glyphImage {
	if len(o.Segments) == 0 {
		return glyphImage{}
	}
	minX, minY := float32(math.Inf(1)), float32(math.Inf(1))
	maxX, maxY := float32(math.Inf(-1)), float32(math.Inf(-1))
	for i := range o.Segments {
		for _, p := range o.Segments[i].ArgsSlice() {
			px, py := p.X*scale+subx, -p.Y*scale
			minX, maxX = min(minX, px), max(maxX, px)
			minY, maxY = min(minY, py), max(maxY, py)
		}
	}
	ox, oy := int(math.Floor(float64(minX))), int(math.Floor(float64(minY)))
	wd, ht := int(math.Ceil(float64(maxX)))-ox, int(math.Ceil(float64(maxY)))-oy
	if wd <= 0 || ht <= 0 {
		return glyphImage{}
	}
	z := w.raster
	z.Reset(wd, ht)
	tx := func(p font.SegmentPoint) (float32, float32) {
		return p.X*scale + subx - float32(ox), -p.Y*scale - float32(oy)
	}
	open := false
	for _, s := range o.Segments {
		switch s.Op {
		case ot.SegmentOpMoveTo:
			if open {
				z.ClosePath()
			}
			z.MoveTo(tx(s.Args[0]))
			open = true
		case ot.SegmentOpLineTo:
			z.LineTo(tx(s.Args[0]))
		case ot.SegmentOpQuadTo:
			bx, by := tx(s.Args[0])
			cx, cy := tx(s.Args[1])
			z.QuadTo(bx, by, cx, cy)
		case ot.SegmentOpCubeTo:
			bx, by := tx(s.Args[0])
			cx, cy := tx(s.Args[1])
			dx, dy := tx(s.Args[2])
			z.CubeTo(bx, by, cx, cy, dx, dy)
		}
	}
	if open {
		z.ClosePath()
	}
	mask := image.NewAlpha(image.Rect(0, 0, wd, ht))
	z.Draw(mask, mask.Rect, image.Opaque, image.Point{})
	return glyphImage{mask: mask, off: image.Pt(ox, oy)}
}

// bitmapGlyph decodes a PNG or JPEG glyph (Noto Color Emoji keeps its
// emoji as PNG strikes) and scales it to the glyph's extents at this size.
func bitmapGlyph(d font.GlyphBitmap, g shaping.Glyph, subx float32) glyphImage {
	if d.Format != font.PNG && d.Format != font.JPG {
		return glyphImage{}
	}
	var src image.Image
	var err error
	if d.Format == font.PNG {
		src, err = png.Decode(bytes.NewReader(d.Data))
	} else {
		src, _, err = image.Decode(bytes.NewReader(d.Data))
	}
	if err != nil {
		return glyphImage{}
	}
	x0, y0 := fl(g.XBearing)+subx, -fl(g.YBearing)
	wd, ht := fl(g.Width), -fl(g.Height)
	if wd <= 0 || ht <= 0 {
		return glyphImage{}
	}
	ox, oy := int(math.Round(float64(x0))), int(math.Round(float64(y0)))
	dst := image.NewRGBA(image.Rect(0, 0, int(math.Round(float64(wd))), int(math.Round(float64(ht)))))
	xdraw.CatmullRom.Scale(dst, dst.Rect, src, src.Bounds(), xdraw.Src, nil)
	return glyphImage{color: dst, off: image.Pt(ox, oy)}
}

// worker holds what one render needs and may not share: faces (they cache
// glyph lookups), the shaper, segmenter and line wrapper (they reuse
// buffers), a rasterizer and a glyph cache. A renderer keeps a fixed number
// of workers; holding one is the right to render.
type worker struct {
	regular, bold *fontmap
	shaper        shaping.HarfbuzzShaper
	seg           shaping.Segmenter
	wrapper       shaping.LineWrapper
	raster        *vector.Rasterizer
	glyphs        map[glyphKey]glyphImage
}

func newWorker(f *Fonts) *worker {
	return &worker{
		regular: newFontmap(f.regular),
		bold:    newFontmap(f.bold),
		raster:  vector.NewRasterizer(0, 0),
		glyphs:  map[glyphKey]glyphImage{},
	}
}
