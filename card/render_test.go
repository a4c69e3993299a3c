package card

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-text/typesetting/font"

	"github.com/papercast/papercast/domain"
)

// The fonts are parsed once for the whole test binary (about a second).
var (
	fontsOnce sync.Once
	fonts     *Fonts
	fontsErr  error
)

// testWorker returns a worker on the default Debian fonts. A missing font
// fails the test: CI installs them (.ci/run), and a card test that skips
// would prove nothing.
func testWorker(t testing.TB) *worker {
	t.Helper()
	fontsOnce.Do(func() { fonts, fontsErr = LoadFonts(DefaultRegular, DefaultBold) })
	if fontsErr != nil {
		t.Fatalf("load fonts (apt-get install %s): %v", FontPackages, fontsErr)
	}
	return newWorker(fonts)
}

func defaultOpts() Options { return Options{}.withDefaults() }

// realistic is a card as a team would sign it: twenty notes in six
// scripts, emoji, a long note, a word longer than a line, a dark note.
func realistic() Card {
	c := Card{Title: "Happy birthday, 지민! 🎂", To: "Jimin", Final: true, Date: time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)}
	for _, n := range []struct{ text, color, author string }{
		{"생일 축하해! 항상 고마워 ❤️ 올해도 멋진 한 해가 되길 바라", "#fff59d", "서연"},
		{"Happy birthday! Thanks for all the help with the launch this year. 🎉", "#f8bbd0", "Alice"},
		{"С днём рождения! Желаю счастья и здоровья.", "#c8e6c9", "Дмитрий"},
		{"יום הולדת שמח! שתהיה שנה נפלאה", "#bbdefb", "נועה"},
		{"عيد ميلاد سعيد! كل عام وأنت بخير 30 سنة", "#e1bee7", "ليلى"},
		{"🎂🎈🎁🥳", "#fff59d", "Bob"},
		{"Short", "#bbdefb", ""},
		{"A much longer note: Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris.\n\nSee you soon!", "#c8e6c9", "Charlie"},
		{"Supercalifragilisticexpialidociousandthensomemoretextwithoutanyspaces", "#f8bbd0", "Dana"},
		{"多謝! 生日快樂 🎊", "#fff59d", "Mei"},
		{"Joyeux anniversaire ! Ça fait déjà cinq ans… ✓ ★", "#e1bee7", "Élodie"},
		{"축하합니다 🎉 같이 일해서 즐거웠어요. 다음 주에 밥 먹어요!", "#c8e6c9", "민수"},
		{"Best wishes from the whole team 💙", "#2458d6", "Eve"},
		{"Wishing you the best year yet!", "#fff59d", "Frank"},
		{"Mazel tov — מזל טוב!", "#bbdefb", "Gil"},
		{"Feliz cumpleaños 🎂 ¡Que lo pases genial!", "#f8bbd0", "Lucía"},
		{"Herzlichen Glückwunsch zum Geburtstag!", "#c8e6c9", "Jonas"},
		{"👍", "#fff59d", "Hana"},
		{"مبروك يا صديقي", "#e1bee7", "Omar"},
		{"Many happy returns 🎈", "#bbdefb", "Ivy"},
	} {
		c.Notes = append(c.Notes, Note{Text: n.text, Color: n.color, Author: n.author})
	}
	return c
}

func renderImage(t testing.TB, c Card, opts Options) (*layout, *image.RGBA) {
	t.Helper()
	w := testWorker(t)
	l, err := w.plan(context.Background(), c, opts)
	if err != nil {
		t.Fatal(err)
	}
	img, err := w.paint(context.Background(), l)
	if err != nil {
		t.Fatal(err)
	}
	return l, img
}

// inkIn counts the pixels of r that differ clearly from bg.
func inkIn(img image.Image, r image.Rectangle, bg color.NRGBA) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			if absDiff(c.R, bg.R)+absDiff(c.G, bg.G)+absDiff(c.B, bg.B) > 96 {
				n++
			}
		}
	}
	return n
}

func absDiff(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

// keepArtifact writes a rendered card where CI keeps artifacts (and where
// a person can look at it), when PAPERCAST_ARTIFACTS names a directory.
func keepArtifact(t *testing.T, name string, b []byte) {
	dir := os.Getenv("PAPERCAST_ARTIFACTS")
	if dir == "" {
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// realisticPNG renders the realistic card through a Renderer.
func realisticPNG(t *testing.T) (Card, []byte) {
	t.Helper()
	c := realistic()
	b, err := NewRenderer(Options{}).PNG(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return c, b
}

func TestCardPNGShowsEveryNote(t *testing.T) {
	c, b := realisticPNG(t)
	keepArtifact(t, "card-realistic.png", b)
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("the PNG does not decode: %v", err)
	}
	l, _ := renderImage(t, c, defaultOpts())
	if img.Bounds().Dx() != cardWidth(baseColumns) || img.Bounds() != image.Rect(0, 0, l.width, l.height) {
		t.Errorf("card is %v, want %dx%d", img.Bounds(), cardWidth(baseColumns), l.height)
	}
	if len(l.notes) != len(c.Notes) {
		t.Fatalf("%d notes drawn, want %d", len(l.notes), len(c.Notes))
	}
	// Not blank: a good share of the card is not paper.
	if n, total := inkIn(img, img.Bounds(), paperColor), img.Bounds().Dx()*img.Bounds().Dy(); n < total/5 {
		t.Errorf("only %d of %d pixels differ from the paper", n, total)
	}
	for i, p := range l.notes {
		if !p.rect.In(img.Bounds()) {
			t.Errorf("note %d at %v is outside the card", i, p.rect)
		}
		// The note is drawn in its color...
		mid := p.rect.Min.Add(image.Pt(2, p.rect.Dy()/2))
		if got := color.NRGBAModel.Convert(img.At(mid.X, mid.Y)).(color.NRGBA); got != p.fill {
			t.Errorf("note %d: pixel %v is %v, want the note's color %v", i, mid, got, p.fill)
		}
		// ...and its text area has ink on it.
		text := image.Rect(p.rect.Min.X+notePad, p.rect.Min.Y+notePad, p.rect.Max.X-notePad, p.rect.Min.Y+notePad+ceil(p.text.height))
		if inkIn(img, text, p.fill) < 20 {
			t.Errorf("note %d (%q): no ink in its text area %v", i, c.Notes[i].Text, text)
		}
		for j := range i {
			if p.rect.Overlaps(l.notes[j].rect) {
				t.Errorf("note %d overlaps note %d", i, j)
			}
		}
	}
}

// shapedGlyphs shapes s as a note's text and returns its glyph ids.
func shapedGlyphs(w *worker, s string) []font.GID {
	var out []font.GID
	for _, l := range w.layoutText(s, noteStyle, noteWidth-2*notePad).lines {
		for _, r := range l.runs {
			for _, g := range r.Glyphs {
				out = append(out, g.GlyphID)
			}
		}
	}
	return out
}

// TestEveryScriptDrawsRealGlyphs renders one note per script and checks
// that no character fell back to .notdef (glyph 0, the empty "tofu" box)
// and that the text area has ink. The control row proves the check can
// fail: a codepoint no font has is tofu.
func TestEveryScriptDrawsRealGlyphs(t *testing.T) {
	w := testWorker(t)
	cases := []struct {
		script string
		text   string
		tofu   bool
	}{
		{"Hangul", "생일 축하해요, 지민 씨", false},
		{"Latin", "Joyeux anniversaire, Zoë!", false},
		{"Cyrillic", "С днём рождения", false},
		{"Hebrew", "יום הולדת שמח", false},
		{"Arabic", "عيد ميلاد سعيد", false},
		{"emoji", "🎂🎉❤️👍🏽👨‍👩‍👧", false},
		{"Han", "生日快樂", false},
		{"symbols", "✓ ★ → ♥", false},
		{"control: unassigned codepoint", "\U000E01F0\U0010FFFD", true},
	}
	for _, tc := range cases {
		t.Run(tc.script, func(t *testing.T) {
			gids := shapedGlyphs(w, tc.text)
			tofu := 0
			for _, g := range gids {
				if g == 0 {
					tofu++
				}
			}
			if tc.tofu {
				if tofu == 0 {
					t.Fatalf("%q shaped without .notdef: the tofu check cannot fail", tc.text)
				}
				return
			}
			if tofu > 0 {
				t.Errorf("%q: %d of %d glyphs are .notdef (tofu)", tc.text, tofu, len(gids))
			}
			l, img := renderImage(t, Card{Title: tc.script, Notes: []Note{{Text: tc.text}}}, defaultOpts())
			p := l.notes[0]
			text := image.Rect(p.rect.Min.X+notePad, p.rect.Min.Y+notePad, p.rect.Max.X-notePad, p.rect.Min.Y+notePad+ceil(p.text.height))
			if n := inkIn(img, text, p.fill); n < 30 {
				t.Errorf("%q: %d inked pixels in its text area", tc.text, n)
			}
		})
	}
}

func TestArabicLettersAreJoined(t *testing.T) {
	w := testWorker(t)
	// Shaped Arabic uses contextual forms: "سلام" joined is not the four
	// isolated letters side by side, so its glyphs differ from theirs.
	joined := shapedGlyphs(w, "سلام")
	var isolated []font.GID
	for _, r := range "سلام" {
		isolated = append(isolated, shapedGlyphs(w, string(r))...)
	}
	if len(joined) == 0 || fmt.Sprint(joined) == fmt.Sprint(reverse(isolated)) || fmt.Sprint(joined) == fmt.Sprint(isolated) {
		t.Errorf("joined %v = isolated %v: Arabic was not shaped", joined, isolated)
	}
}

func reverse(s []font.GID) []font.GID {
	out := make([]font.GID, len(s))
	for i, g := range s {
		out[len(s)-1-i] = g
	}
	return out
}

func TestRightToLeftNotesAlignRight(t *testing.T) {
	w := testWorker(t)
	for _, tc := range []struct {
		text string
		rtl  bool
	}{
		{"שלום", true},
		{"مرحبا", true},
		{"Hello שלום", false},
		{"123 שלום", true}, // digits are weak: the first strong letter decides
	} {
		b := w.layoutText(tc.text, noteStyle, 228)
		if got := b.lines[0].rtl; got != tc.rtl {
			t.Errorf("%q: rtl = %v, want %v", tc.text, got, tc.rtl)
		}
	}
	// An RTL line is drawn against the right edge of its box.
	l, img := renderImage(t, Card{Title: "t", Notes: []Note{{Text: "שלום"}}}, defaultOpts())
	p := l.notes[0]
	half := p.rect.Min.X + p.rect.Dx()/2
	band := image.Rect(0, p.rect.Min.Y+notePad, 0, p.rect.Min.Y+notePad+ceil(p.text.height))
	left, right := band, band
	left.Min.X, left.Max.X = p.rect.Min.X+notePad, half
	right.Min.X, right.Max.X = half, p.rect.Max.X-notePad
	if inkIn(img, left, p.fill) != 0 || inkIn(img, right, p.fill) == 0 {
		t.Error("a short Hebrew note is not drawn against the right edge")
	}
}

func TestLongTextWrapsAndTheNoteGrows(t *testing.T) {
	w := testWorker(t)
	long := strings.Repeat("All the best for the years to come! ", 30) + strings.Repeat("x", 200)
	b := w.layoutText(long, noteStyle, noteWidth-2*notePad)
	if len(b.lines) < 20 {
		t.Errorf("%d lines for %d characters", len(b.lines), len(long))
	}
	for i, l := range b.lines {
		if l.width > noteWidth-2*notePad+0.5 {
			t.Errorf("line %d is %.1f px wide, over %d", i, l.width, noteWidth-2*notePad)
		}
	}
	l, _ := renderImage(t, Card{Title: "t", Notes: []Note{{Text: long, Author: "Ann"}}}, defaultOpts())
	if got, min := l.notes[0].rect.Dy(), ceil(b.height)+2*notePad; got < min {
		t.Errorf("note is %d px tall, its text needs %d", got, min)
	}
}

func TestCardBoundsNotesAndPixels(t *testing.T) {
	c := Card{Title: "Many", Final: true}
	for i := range 60 {
		c.Notes = append(c.Notes, Note{Text: fmt.Sprintf("note %d with a few words on it", i)})
	}
	t.Run("max notes", func(t *testing.T) {
		opts := defaultOpts()
		opts.MaxNotes = 10
		l, _ := renderImage(t, c, opts)
		if len(l.notes) != 10 {
			t.Errorf("%d notes drawn, want 10", len(l.notes))
		}
		if got := footerOf(l); !strings.Contains(got, "50 more not shown") {
			t.Errorf("footer %q does not count the notes left out", got)
		}
	})
	t.Run("max pixels", func(t *testing.T) {
		opts := defaultOpts()
		opts.MaxPixels = 1 << 20
		l, img := renderImage(t, c, opts)
		if l.width*l.height > opts.MaxPixels || img.Bounds().Dx()*img.Bounds().Dy() > opts.MaxPixels {
			t.Errorf("card is %dx%d, over %d pixels", l.width, l.height, opts.MaxPixels)
		}
		if len(l.notes) == 0 || len(l.notes) == len(c.Notes) {
			t.Errorf("%d notes drawn", len(l.notes))
		}
		if want := fmt.Sprintf("%d more not shown", len(c.Notes)-len(l.notes)); !strings.Contains(footerOf(l), want) {
			t.Errorf("footer %q, want %q", footerOf(l), want)
		}
	})
}

func footerOf(l *layout) string { return l.footerText }

func TestRenderStopsWhenTheContextEnds(t *testing.T) {
	r := NewRenderer(Options{})
	testWorker(t) // fonts present
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := r.PNG(ctx, realistic())
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestRendererRefusesPastItsQueue(t *testing.T) {
	testWorker(t)
	r := NewRenderer(Options{Workers: 1, MaxQueue: -1, QueueWait: time.Hour})
	w, err := r.acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// The only worker is busy and no one may wait: refused at once.
	if _, err := r.PNG(context.Background(), realistic()); !errors.Is(err, ErrBusy) || !errors.Is(err, domain.ErrUnavailable) {
		t.Errorf("err = %v, want ErrBusy (unavailable)", err)
	}
	r.workers <- w
	if _, err := r.PNG(context.Background(), Card{Title: "t"}); err != nil {
		t.Errorf("after the worker came back: %v", err)
	}

	q := NewRenderer(Options{Workers: 1, MaxQueue: 1, QueueWait: time.Millisecond})
	w, err = q.acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { q.workers <- w }()
	// One may wait, but not forever.
	if _, err := q.PNG(context.Background(), Card{Title: "t"}); !errors.Is(err, ErrBusy) {
		t.Errorf("err = %v, want ErrBusy after the queue wait", err)
	}
}

func TestMissingFontIsAClearError(t *testing.T) {
	r := NewRenderer(Options{Regular: []string{"/nonexistent/NotoSans-Regular.ttf"}})
	if err := r.Check(); !errors.Is(err, ErrMissingFont) || !strings.Contains(err.Error(), "/nonexistent/NotoSans-Regular.ttf") {
		t.Errorf("Check = %v, want a missing-font error naming the file", err)
	}
	_, err := r.PNG(context.Background(), Card{Title: "t"})
	if !errors.Is(err, ErrMissingFont) || !errors.Is(err, domain.ErrUnavailable) {
		t.Errorf("PNG = %v, want unavailable: missing font", err)
	}
}

func TestCardPDFOpensAsTheCard(t *testing.T) {
	c, pngBytes := realisticPNG(t)
	pdf, err := PDF(pngBytes, c)
	if err != nil {
		t.Fatal(err)
	}
	keepArtifact(t, "card-realistic.pdf", pdf)
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("not a PDF: %q", pdf[:min(16, len(pdf))])
	}
	again, _ := PDF(pngBytes, c)
	if !bytes.Equal(pdf, again) {
		t.Error("the same card gave two different PDFs")
	}
	// poppler's pdftoppm turns the page back into pixels. CI installs it
	// (.ci/run); without it this test fails rather than skips.
	tool, err := exec.LookPath("pdftoppm")
	if err != nil {
		t.Fatalf("pdftoppm not found (apt-get install poppler-utils): %v", err)
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "card.pdf")
	if err := os.WriteFile(in, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tool, "-png", "-r", "72", "-singlefile", in, filepath.Join(dir, "page")).CombinedOutput()
	if err != nil {
		t.Fatalf("pdftoppm: %v: %s", err, out)
	}
	f, err := os.ReadFile(filepath.Join(dir, "page.png"))
	if err != nil {
		t.Fatal(err)
	}
	page, err := png.Decode(bytes.NewReader(f))
	if err != nil {
		t.Fatal(err)
	}
	src, _ := png.DecodeConfig(bytes.NewReader(pngBytes))
	// 72 dpi of a page laid out at pdfDPI: half the card's pixels.
	if got, want := page.Bounds().Dx(), src.Width*72/pdfDPI; got < want-1 || got > want+1 {
		t.Errorf("page is %d px wide at 72 dpi, want %d", got, want)
	}
	if n, total := inkIn(page, page.Bounds(), paperColor), page.Bounds().Dx()*page.Bounds().Dy(); n < total/5 {
		t.Errorf("the PDF page is blank: %d of %d pixels differ from the paper", n, total)
	}
}

// BenchmarkCard renders a card of 100 notes (a team's card is 20 to 60)
// and reports the output size.
func BenchmarkCard(b *testing.B) {
	c := Card{Title: "Happy birthday, 지민! 🎂", To: "Jimin", Final: true}
	base := realistic().Notes
	for i := range 100 {
		c.Notes = append(c.Notes, base[i%len(base)])
	}
	r := NewRenderer(Options{Workers: 1})
	testWorker(b)
	warm, err := r.PNG(context.Background(), c)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("png", func(b *testing.B) {
		var out []byte
		cpu := cpuTime()
		for b.Loop() {
			out, _ = r.PNG(context.Background(), c)
		}
		cfg, _ := png.DecodeConfig(bytes.NewReader(out))
		b.ReportMetric(float64(len(out)), "bytes")
		b.ReportMetric(float64(cfg.Width*cfg.Height), "pixels")
		// CPU time, not wall time, is what a render costs a replica (and
		// what a shared machine does not inflate).
		b.ReportMetric(float64((cpuTime()-cpu).Milliseconds())/float64(b.N), "cpu-ms/op")
	})
	b.Run("pdf-from-png", func(b *testing.B) {
		var out []byte
		cpu := cpuTime()
		for b.Loop() {
			out, _ = PDF(warm, c)
		}
		b.ReportMetric(float64(len(out)), "bytes")
		b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/1000/float64(b.N), "cpu-ms/op")
	})
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
