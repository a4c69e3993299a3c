package card

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/go-text/typesetting/font"
	ot "github.com/go-text/typesetting/font/opentype"
	"github.com/go-text/typesetting/language"
	"github.com/go-text/typesetting/shaping"
)

// Debian's font files, in fallback order: the first file that has a
// character draws it. Noto Sans draws Latin, Greek and Cyrillic; Noto Sans
// Arabic and Hebrew their scripts; Nanum Gothic Hangul (and Hanja); Noto
// Color Emoji emoji (bitmaps in color); DejaVu Sans last, for the symbols the
// others lack (✓, ★, arrows, box drawing).
//
// Packages: fonts-noto-core, fonts-nanum, fonts-noto-color-emoji,
// fonts-dejavu-core.
var (
	DefaultRegular = []string{
		"/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
		"/usr/share/fonts/truetype/noto/NotoSansArabic-Regular.ttf",
		"/usr/share/fonts/truetype/noto/NotoSansHebrew-Regular.ttf",
		"/usr/share/fonts/truetype/nanum/NanumGothic.ttf",
		"/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf",
		"/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
	}
	DefaultBold = []string{
		"/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf",
		"/usr/share/fonts/truetype/noto/NotoSansArabic-Bold.ttf",
		"/usr/share/fonts/truetype/noto/NotoSansHebrew-Bold.ttf",
		"/usr/share/fonts/truetype/nanum/NanumGothicBold.ttf",
		"/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf",
		"/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
	}
)

// FontPackages names the Debian packages of the default fonts, for error
// messages and docs.
const FontPackages = "fonts-noto-core fonts-nanum fonts-noto-color-emoji fonts-dejavu-core"

// ErrMissingFont says a configured font file cannot be read.
var ErrMissingFont = errors.New("font file missing")

// Fonts are the parsed font files of both weights. A *font.Font is
// read-only and safe for concurrent use: fonts are parsed once per process
// and shared by every render (each render worker wraps them in its own
// faces, which are not).
type Fonts struct {
	regular, bold []*font.Font
}

// CheckFonts reports every file of the lists that cannot be read, without
// parsing anything: cheap enough to call at start.
func CheckFonts(lists ...[]string) error {
	var errs []error
	seen := map[string]bool{}
	for _, list := range lists {
		if len(list) == 0 {
			errs = append(errs, errors.New("an empty font list"))
		}
		for _, path := range list {
			if seen[path] {
				continue
			}
			seen[path] = true
			if _, err := os.Stat(path); err != nil {
				errs = append(errs, fmt.Errorf("%w: %w", ErrMissingFont, err))
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w (Debian: apt-get install %s)", errors.Join(errs...), FontPackages)
	}
	return nil
}

// LoadFonts parses the font files of both lists (a file named in both is
// parsed once). A collection (.ttc) contributes its first font.
func LoadFonts(regular, bold []string) (*Fonts, error) {
	if err := CheckFonts(regular, bold); err != nil {
		return nil, err
	}
	parsed := map[string]*font.Font{}
	load := func(paths []string) ([]*font.Font, error) {
		out := make([]*font.Font, 0, len(paths))
		for _, path := range paths {
			f, ok := parsed[path]
			if !ok {
				var err error
				if f, err = parseFont(path); err != nil {
					return nil, err
				}
				parsed[path] = f
			}
			out = append(out, f)
		}
		return out, nil
	}
	r, err := load(regular)
	if err != nil {
		return nil, err
	}
	b, err := load(bold)
	if err != nil {
		return nil, err
	}
	return &Fonts{regular: r, bold: b}, nil
}

func parseFont(path string) (*font.Font, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			err = fmt.Errorf("%w: %w", ErrMissingFont, err)
		}
		return nil, err
	}
	lds, err := ot.NewLoaders(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("parse font %s: %w", path, err)
	}
	f, err := font.NewFont(lds[0])
	if err != nil {
		return nil, fmt.Errorf("parse font %s: %w", path, err)
	}
	return f, nil
}

// fontmap picks the face that draws a rune: the face already chosen for
// the run's script when it has the rune (so an Arabic run keeps its digits
// and punctuation in the Arabic face and shapes as one piece), else the
// first face of the list that has it, else the first face (its .notdef).
// It implements shaping.FontmapScript; it is not safe for concurrent use.
type fontmap struct {
	faces    []*font.Face
	script   language.Script
	byScript map[language.Script]*font.Face
	// wideSpace marks faces whose space is much wider than a text space
	// (Noto Color Emoji's is a full em): spaces next to an emoji are set
	// in the first face instead (see respace).
	wideSpace map[*font.Face]bool
}

var _ shaping.FontmapScript = (*fontmap)(nil)

func newFontmap(fonts []*font.Font) *fontmap {
	m := &fontmap{
		faces:     make([]*font.Face, len(fonts)),
		byScript:  map[language.Script]*font.Face{},
		wideSpace: map[*font.Face]bool{},
	}
	for i, f := range fonts {
		face := font.NewFace(f)
		m.faces[i] = face
		if gid, ok := face.NominalGlyph(' '); ok && face.HorizontalAdvance(gid) > 0.4*float32(face.Upem()) {
			m.wideSpace[face] = true
		}
	}
	return m
}

func (m *fontmap) SetScript(s language.Script) { m.script = s }

func (m *fontmap) ResolveFace(r rune) *font.Face {
	if f := m.byScript[m.script]; f != nil {
		if _, ok := f.NominalGlyph(r); ok {
			return f
		}
	}
	for _, f := range m.faces {
		if _, ok := f.NominalGlyph(r); ok {
			if m.script.Strong() && language.LookupScript(r) == m.script {
				m.byScript[m.script] = f
			}
			return f
		}
	}
	return m.faces[0]
}

// covers reports whether some face of the map has a glyph for r.
func (m *fontmap) covers(r rune) bool {
	for _, f := range m.faces {
		if _, ok := f.NominalGlyph(r); ok {
			return true
		}
	}
	return false
}

// respace moves the spaces of runs set in a wide-space face to the first
// face, splitting those runs. The segmenter never changes faces for a
// space, so "🎉 hi" would otherwise put an emoji-wide gap after the emoji.
func (m *fontmap) respace(runs []shaping.Input) []shaping.Input {
	out := runs[:0:0]
	for _, in := range runs {
		if !m.wideSpace[in.Face] || in.RunEnd <= in.RunStart {
			out = append(out, in)
			continue
		}
		start := in.RunStart
		for i := in.RunStart; i <= in.RunEnd; i++ {
			if i < in.RunEnd && (i == start || isSpace(in.Text[i]) == isSpace(in.Text[start])) {
				continue
			}
			part := in
			part.RunStart, part.RunEnd = start, i
			if isSpace(in.Text[start]) {
				part.Face = m.faces[0]
			}
			out = append(out, part)
			start = i
		}
	}
	return out
}

func isSpace(r rune) bool { return r == ' ' || r == '\u00a0' || r == '\u3000' }
