package card

import (
	"image"
	"image/color"
	"image/draw"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/image/vector"
)

// The card's palette, the board's (web/static/app.css).
var (
	paperColor  = color.NRGBA{0xfb, 0xf8, 0xf1, 0xff}
	dotColor    = color.NRGBA{0xe4, 0xdd, 0xcc, 0xff}
	inkColor    = color.NRGBA{0x1d, 0x1d, 0x1f, 0xff}
	mutedColor  = color.NRGBA{0x5f, 0x63, 0x68, 0xff}
	defaultNote = color.NRGBA{0xff, 0xf5, 0x9d, 0xff} // the board's yellow
	lightInk    = color.NRGBA{0xff, 0xff, 0xff, 0xff}
	lightMuted  = color.NRGBA{0xe8, 0xea, 0xed, 0xff}
	dotSpacing  = 24
)

// parseColor reads a CSS hex color (#rgb, #rgba, #rrggbb, #rrggbbaa), the
// only form the board writes. A translucent color is composed over white,
// as the board shows it; anything else is the default note yellow.
func parseColor(s string) color.NRGBA {
	s, ok := strings.CutPrefix(strings.TrimSpace(s), "#")
	if !ok {
		return defaultNote
	}
	switch len(s) {
	case 3, 4:
		var b strings.Builder
		for _, r := range s {
			b.WriteRune(r)
			b.WriteRune(r)
		}
		s = b.String()
	case 6, 8:
	default:
		return defaultNote
	}
	if len(s) == 6 {
		s += "ff"
	}
	v, err := strconv.ParseUint(s, 16, 32)
	if err != nil {
		return defaultNote
	}
	c := color.NRGBA{uint8(v >> 24), uint8(v >> 16), uint8(v >> 8), uint8(v)}
	over := func(ch uint8) uint8 { return uint8((int(ch)*int(c.A) + 255*(255-int(c.A))) / 255) }
	return color.NRGBA{over(c.R), over(c.G), over(c.B), 0xff}
}

// dark reports whether a note color needs light text (relative luminance
// below the point where dark ink loses contrast).
func dark(c color.NRGBA) bool {
	l := 0.2126*float64(c.R) + 0.7152*float64(c.G) + 0.0722*float64(c.B)
	return l < 110
}

// fillPaper paints the board's dotted paper.
func fillPaper(dst *image.RGBA) {
	draw.Draw(dst, dst.Rect, image.NewUniform(paperColor), image.Point{}, draw.Src)
	dot := image.NewUniform(dotColor)
	for y := dotSpacing / 2; y < dst.Rect.Dy(); y += dotSpacing {
		for x := dotSpacing / 2; x < dst.Rect.Dx(); x += dotSpacing {
			draw.Draw(dst, image.Rect(x, y, x+2, y+2), dot, image.Point{}, draw.Src)
		}
	}
}

// Rounded corners and soft shadows are drawn from small masks made once:
// a quarter-circle corner for the note body, and a blurred rounded square
// whose rows and columns give the shadow's edge profiles (a nine-patch).
// Filling rectangles is far cheaper than rasterizing a path per note.
const (
	shadowBlur  = 6 // box-blur radius: the softness of the shadow
	shadowDY    = 4 // the light comes from above
	shadowAlpha = 0x50
)

var (
	masksOnce   sync.Once
	cornerMask  *image.Alpha // a disc of radius noteRadius
	shadowPatch *image.Alpha // a blurred rounded square, (2m+1) wide
	shadowM     int          // the patch's half size
)

func makeMasks() {
	masksOnce.Do(func() {
		z := vector.NewRasterizer(0, 0)
		d := 2 * noteRadius
		cornerMask = image.NewAlpha(image.Rect(0, 0, d, d))
		roundedPath(z, d, d, noteRadius)
		z.Draw(cornerMask, cornerMask.Rect, image.Opaque, image.Point{})

		// The square's flat middle lies farther from its corners than the
		// corner radius plus the blur, so its middle row and column are
		// the profile of a straight edge.
		shadowM = noteRadius + 3*shadowBlur
		n := 2*shadowM + 1
		sq := image.NewAlpha(image.Rect(0, 0, n, n))
		inset := 2 * shadowBlur
		z.Reset(n-2*inset, n-2*inset)
		roundedPath(z, n-2*inset, n-2*inset, noteRadius)
		z.Draw(sq, image.Rect(inset, inset, n-inset, n-inset), image.Opaque, image.Point{})
		for range 3 { // three box blurs approximate a Gaussian
			sq = boxBlur(sq, shadowBlur)
		}
		shadowPatch = sq
	})
}

// roundedPath adds a w x h rounded rectangle to z, reset to that size.
func roundedPath(z *vector.Rasterizer, w, h int, radius float32) {
	fw, fh := float32(w), float32(h)
	r := min(radius, fw/2, fh/2)
	// A quarter circle as a cubic Bézier: control points at k*radius.
	const k = 0.5523
	z.Reset(w, h)
	z.MoveTo(r, 0)
	z.LineTo(fw-r, 0)
	z.CubeTo(fw-r+k*r, 0, fw, r-k*r, fw, r)
	z.LineTo(fw, fh-r)
	z.CubeTo(fw, fh-r+k*r, fw-r+k*r, fh, fw-r, fh)
	z.LineTo(r, fh)
	z.CubeTo(r-k*r, fh, 0, fh-r+k*r, 0, fh-r)
	z.LineTo(0, r)
	z.CubeTo(0, r-k*r, r-k*r, 0, r, 0)
	z.ClosePath()
}

// boxBlur blurs an alpha image horizontally then vertically with a box of
// radius r (pixels outside count as transparent).
func boxBlur(src *image.Alpha, r int) *image.Alpha {
	w, h := src.Rect.Dx(), src.Rect.Dy()
	tmp := image.NewAlpha(src.Rect)
	dst := image.NewAlpha(src.Rect)
	boxPass(tmp.Pix, src.Pix, w, h, 1, src.Stride, r)
	boxPass(dst.Pix, tmp.Pix, h, w, src.Stride, 1, r)
	return dst
}

// boxPass blurs n pixels along one axis, for each of lines lines: pixel i
// of line j is at j*lineStep + i*step.
func boxPass(dst, src []uint8, n, lines, step, lineStep, r int) {
	for j := range lines {
		for i := range n {
			sum := 0
			for k := max(0, i-r); k <= min(n-1, i+r); k++ {
				sum += int(src[j*lineStep+k*step])
			}
			dst[j*lineStep+i*step] = uint8(sum / (2*r + 1))
		}
	}
}

// roundedRect fills r with corners of radius noteRadius.
func roundedRect(dst *image.RGBA, r image.Rectangle, c color.Color) {
	makeMasks()
	rad := noteRadius
	if r.Dx() < 2*rad || r.Dy() < 2*rad {
		draw.Draw(dst, r, image.NewUniform(c), image.Point{}, draw.Over)
		return
	}
	src := image.NewUniform(c)
	draw.Draw(dst, image.Rect(r.Min.X+rad, r.Min.Y, r.Max.X-rad, r.Max.Y), src, image.Point{}, draw.Over)
	draw.Draw(dst, image.Rect(r.Min.X, r.Min.Y+rad, r.Min.X+rad, r.Max.Y-rad), src, image.Point{}, draw.Over)
	draw.Draw(dst, image.Rect(r.Max.X-rad, r.Min.Y+rad, r.Max.X, r.Max.Y-rad), src, image.Point{}, draw.Over)
	corners := []struct{ at, mp image.Point }{
		{r.Min, image.Pt(0, 0)},
		{image.Pt(r.Max.X-rad, r.Min.Y), image.Pt(rad, 0)},
		{image.Pt(r.Min.X, r.Max.Y-rad), image.Pt(0, rad)},
		{image.Pt(r.Max.X-rad, r.Max.Y-rad), image.Pt(rad, rad)},
	}
	for _, k := range corners {
		draw.DrawMask(dst, image.Rectangle{Min: k.at, Max: k.at.Add(image.Pt(rad, rad))}, src, image.Point{}, cornerMask, k.mp, draw.Over)
	}
}

// shadow draws the soft shadow of a note occupying r.
func shadow(dst *image.RGBA, r image.Rectangle) {
	makeMasks()
	m, p := shadowM, shadowPatch
	// The patch's rounded square sits 2*blur inside it: grow r to match.
	g := 2 * shadowBlur
	sr := r.Inset(-g).Add(image.Pt(0, shadowDY))
	if sr.Dx() < 2*m+1 || sr.Dy() < 2*m+1 {
		return
	}
	w, h := sr.Dx(), sr.Dy()
	mask := image.NewAlpha(image.Rect(0, 0, w, h))
	ps := p.Stride
	for y := range h {
		// The patch row this mask row takes its profile from: the top m
		// rows and bottom m rows are the patch's, the middle its centre.
		py := m
		if y < m {
			py = y
		} else if y >= h-m {
			py = y - (h - m) + m + 1
		}
		row := mask.Pix[y*mask.Stride : y*mask.Stride+w]
		src := p.Pix[py*ps : py*ps+2*m+1]
		copy(row[:m], src[:m])
		mid := src[m]
		for x := m; x < w-m; x++ {
			row[x] = mid
		}
		copy(row[w-m:], src[m+1:])
	}
	draw.DrawMask(dst, sr, image.NewUniform(color.NRGBA{0, 0, 0, shadowAlpha}), image.Point{}, mask, image.Point{}, draw.Over)
}

// noteShape draws a note's soft shadow and its body.
func noteShape(dst *image.RGBA, r image.Rectangle, fill color.NRGBA) {
	shadow(dst, r)
	roundedRect(dst, r, fill)
}
