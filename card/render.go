package card

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/papercast/papercast/domain"
)

// Defaults of Options, sized for a replica on two cores.
const (
	DefaultMaxNotes  = 500
	DefaultMaxPixels = 16 << 20 // 64 MiB of RGBA while one card is drawn
	DefaultWorkers   = 2
	DefaultMaxQueue  = 8
	DefaultQueueWait = 5 * time.Second
)

// Options bound what rendering may cost.
type Options struct {
	// Regular and Bold are font files in fallback order (DefaultRegular,
	// DefaultBold when empty).
	Regular, Bold []string
	// MaxNotes is the most notes one card draws; the footer counts the rest.
	MaxNotes int
	// MaxPixels bounds a card's width times height: the notes that would
	// make it larger are left out and counted in the footer.
	MaxPixels int
	// Workers is how many cards render at once (each holds a CPU).
	Workers int
	// MaxQueue is how many renders may wait for a worker; one more gets
	// ErrBusy at once.
	MaxQueue int
	// QueueWait is the longest a render waits for a worker before ErrBusy.
	QueueWait time.Duration
}

func (o Options) withDefaults() Options {
	if len(o.Regular) == 0 {
		o.Regular = DefaultRegular
	}
	if len(o.Bold) == 0 {
		o.Bold = DefaultBold
	}
	if o.MaxNotes <= 0 {
		o.MaxNotes = DefaultMaxNotes
	}
	if o.MaxPixels <= 0 {
		o.MaxPixels = DefaultMaxPixels
	}
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	if o.MaxQueue < 0 {
		o.MaxQueue = 0
	} else if o.MaxQueue == 0 {
		o.MaxQueue = DefaultMaxQueue
	}
	if o.QueueWait <= 0 {
		o.QueueWait = DefaultQueueWait
	}
	return o
}

// ErrBusy says every worker is taken and the queue is full or waited too
// long: nothing was rendered, retry after a moment.
var ErrBusy = fmt.Errorf("card renderer busy: %w", domain.ErrUnavailable)

// Renderer draws cards. Fonts are parsed on the first render (about a
// second and ~46 MB for the default set) and shared afterwards; at most
// Options.Workers cards are drawn at once. Safe for concurrent use.
type Renderer struct {
	opts    Options
	load    sync.Once
	loadErr error
	workers chan *worker
	waiting atomic.Int64
}

// NewRenderer builds a renderer; it reads no file yet (see Check).
func NewRenderer(opts Options) *Renderer {
	opts = opts.withDefaults()
	return &Renderer{opts: opts, workers: make(chan *worker, opts.Workers)}
}

// Check reports the configured font files that are missing, without
// parsing them: the start-up check.
func (r *Renderer) Check() error { return CheckFonts(r.opts.Regular, r.opts.Bold) }

// acquire takes a worker, waiting at most QueueWait behind at most MaxQueue
// others. The first call parses the fonts.
func (r *Renderer) acquire(ctx context.Context) (*worker, error) {
	r.load.Do(func() {
		f, err := LoadFonts(r.opts.Regular, r.opts.Bold)
		if err != nil {
			r.loadErr = fmt.Errorf("card fonts: %w: %w", domain.ErrUnavailable, err)
			return
		}
		for range r.opts.Workers {
			r.workers <- newWorker(f)
		}
	})
	if r.loadErr != nil {
		return nil, r.loadErr
	}
	select {
	case w := <-r.workers:
		return w, nil
	default:
	}
	if r.waiting.Add(1) > int64(r.opts.MaxQueue) {
		r.waiting.Add(-1)
		return nil, ErrBusy
	}
	defer r.waiting.Add(-1)
	t := time.NewTimer(r.opts.QueueWait)
	defer t.Stop()
	select {
	case w := <-r.workers:
		return w, nil
	case <-t.C:
		return nil, ErrBusy
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for a card worker: %w", ctx.Err())
	}
}

// PNG renders a card as a PNG image.
func (r *Renderer) PNG(ctx context.Context, c Card) ([]byte, error) {
	w, err := r.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { r.workers <- w }()
	l, err := w.plan(ctx, c, r.opts)
	if err != nil {
		return nil, err
	}
	img, err := w.paint(ctx, l)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	// BestSpeed: a card is flat colors and text; the default level costs
	// about twice the time for a few percent fewer bytes.
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("encode card png: %w", err)
	}
	return buf.Bytes(), nil
}

// plannedNote is a note measured and placed.
type plannedNote struct {
	rect     image.Rectangle // on the card
	fill     color.NRGBA
	text     textBlock
	author   textBlock
	authored bool
}

// layout is a card measured and placed, ready to paint.
type layout struct {
	width, height int
	title, to     textBlock
	titleY, toY   float32
	notes         []plannedNote // the notes drawn, in order
	footerText    string
	footer        textBlock
	footerY       float32
}

// plan measures every note and places the card's parts. Notes past
// MaxNotes, and past what fits in MaxPixels, are left out and counted in
// the footer. It stops early with ctx's error.
func (w *worker) plan(ctx context.Context, c Card, opts Options) (*layout, error) {
	notes := c.Notes
	if len(notes) > opts.MaxNotes {
		notes = notes[:opts.MaxNotes]
	}
	planned := make([]plannedNote, len(notes))
	heights := make([]int, len(notes))
	textWidth := float32(noteWidth - 2*notePad)
	for i, n := range notes {
		if i%16 == 0 && ctx.Err() != nil {
			return nil, fmt.Errorf("render card: %w", ctx.Err())
		}
		p := &planned[i]
		p.text = w.layoutText(n.Text, noteStyle, textWidth)
		h := 2*notePad + ceil(p.text.height)
		if n.Author != "" {
			p.author = w.layoutText("— "+n.Author, authorStyle, textWidth)
			p.authored = true
			h += signatureGap + ceil(p.author.height)
		}
		heights[i] = max(noteMinHeight, h)
		p.fill = parseColor(n.Color)
	}

	type header struct{ title, to textBlock }
	headers := map[int]header{} // by card width: at most maxColumns of them
	place := func(k int) *layout {
		cols := chooseColumns(heights[:k])
		l := &layout{width: cardWidth(cols)}
		inner := float32(l.width - 2*margin)
		hd, ok := headers[l.width]
		if !ok {
			title := c.Title
			if strings.TrimSpace(title) == "" {
				title = "Untitled paper"
			}
			hd.title = w.layoutText(title, titleStyle, inner)
			if strings.TrimSpace(c.To) != "" {
				hd.to = w.layoutText("To "+c.To, toStyle, inner)
			}
			headers[l.width] = hd
		}
		l.title, l.to = hd.title, hd.to
		l.titleY = margin
		l.toY = l.titleY + l.title.height + headerGap
		top := ceil(l.toY + l.to.height + notesTop)
		rects, notesH := masonry(heights[:k], cols)
		origin := image.Pt((l.width-columnsWidth(cols))/2, top)
		l.notes = make([]plannedNote, k)
		for i := range k {
			l.notes[i] = planned[i]
			l.notes[i].rect = rects[i].Add(origin)
		}
		l.footerText = footerText(c, k, len(c.Notes)-k)
		l.footer = w.layoutText(l.footerText, footerStyle, inner)
		l.footerY = float32(top + notesH + footerGap)
		l.height = ceil(l.footerY + l.footer.height + bottomMargin)
		return l
	}
	l := place(len(notes))
	if l.width*l.height > opts.MaxPixels {
		// The most notes that fit (the footer says how many did not).
		lo, hi := 0, len(notes)
		for lo < hi {
			mid := (lo + hi + 1) / 2
			if m := place(mid); m.width*m.height <= opts.MaxPixels {
				lo = mid
			} else {
				hi = mid - 1
			}
		}
		l = place(lo)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("render card: %w", err)
	}
	return l, nil
}

func ceil(v float32) int { return int(math.Ceil(float64(v))) }

// paint draws a planned card.
func (w *worker) paint(ctx context.Context, l *layout) (*image.RGBA, error) {
	img := image.NewRGBA(image.Rect(0, 0, l.width, l.height))
	fillPaper(img)
	inner := float32(l.width - 2*margin)
	w.drawText(img, l.title, titleStyle, margin, l.titleY, inner, inkColor)
	w.drawText(img, l.to, toStyle, margin, l.toY, inner, mutedColor)
	for i := range l.notes {
		if i%16 == 0 && ctx.Err() != nil {
			return nil, fmt.Errorf("render card: %w", ctx.Err())
		}
		p := &l.notes[i]
		r := p.rect
		noteShape(img, r, p.fill)
		ink, muted := inkColor, mutedColor
		if dark(p.fill) {
			ink, muted = lightInk, lightMuted
		}
		tx, tw := float32(r.Min.X+notePad), float32(noteWidth-2*notePad)
		w.drawText(img, p.text, noteStyle, tx, float32(r.Min.Y+notePad), tw, ink)
		if p.authored {
			// The signature sits at the note's bottom, at the end of the
			// note's own writing direction.
			st := authorStyle
			st.align = alignRight
			if len(p.text.lines) > 0 && p.text.lines[0].rtl {
				st.align = alignLeft
			}
			w.drawText(img, p.author, st, tx, float32(r.Max.Y-notePad)-p.author.height, tw, muted)
		}
	}
	w.drawText(img, l.footer, footerStyle, margin, l.footerY, inner, mutedColor)
	return img, nil
}

// footerText is the card's last line: how many notes, when, and what was
// left out.
func footerText(c Card, shown, left int) string {
	s := strconv.Itoa(shown) + " notes"
	if shown == 1 {
		s = "1 note"
	}
	if c.Final {
		s += " · " + c.Date.UTC().Format("2 January 2006")
	} else {
		s += " · preview: this paper is still open"
	}
	if left > 0 {
		s += " · " + strconv.Itoa(left) + " more not shown"
	}
	return s
}

// pngSize reads a PNG's width and height from its header.
func pngSize(b []byte) (image.Point, error) {
	cfg, err := png.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return image.Point{}, fmt.Errorf("card png: %w", err)
	}
	return image.Pt(cfg.Width, cfg.Height), nil
}
