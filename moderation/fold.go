package moderation

import (
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// srcChar is one character of the text being filtered: its rune and where
// it sits in the input, as byte offsets. In a plain string a character is
// its UTF-8 bytes; in a JSON string literal it may be an escape (`\u00e9`,
// a surrogate pair `\ud83d\ude00`, `\"`). Masking replaces a character's
// bytes with one `*`, so the masked text has exactly as many runes.
type srcChar struct {
	r      rune
	lo, hi int32
}

// folder turns source characters into the folded text the automaton reads,
// remembering which source characters each folded rune came from.
//
// The folding is NFKC, then Unicode full case folding, then NFKC again
// (close to Unicode's NFKC_Casefold), done per normalization segment (a
// starter and the marks that combine with it), so that every folded rune
// maps back to a run of source characters. On top of that:
//   - default-ignorable characters (zero-width space and joiners, soft
//     hyphen, variation selectors, Hangul fillers, bidi controls) fold to
//     nothing, so "f\u200Buck" reads "fuck";
//   - every run of white space folds to one ' ', so a phrase matches
//     whatever spaces, tabs or line breaks separate its words.
//
// The same folding is applied to the blocked words, so both sides meet in
// one form: fullwidth "ＡＳＳ", mathematical "𝐚𝐬𝐬", the ligature in "ﬁx",
// "Straße"/"STRASSE" and a decomposed "e\u0301" all match what NFKC and
// case folding make of them.
type folder struct {
	text []frune // the folded text

	seg, nfkc, cased, again []byte // one segment's UTF-8 on its way through
	it                      norm.Iter
}

// frune is one rune of the folded text and the source characters it came
// from, src[from:to].
type frune struct {
	r        rune
	from, to int32
}

// caseFold is stateless and safe for concurrent use (x/text/cases says so).
var caseFold = cases.Fold()

// run folds src into f.text.
func (f *folder) run(src []srcChar) {
	f.text = f.text[:0]
	n := len(src)
	bmp := bmpTables()
	for i := 0; i < n; {
		r := src[i].r
		// Fast paths: a character that nothing after it combines with is a
		// segment of its own; ASCII only needs lower-casing, and most of
		// the rest of the BMP (Hangul syllables, kana, Han, lower-case
		// letters) folds to itself.
		if r < utf8.RuneSelf && (i+1 == n || boundaryBefore(src[i+1].r)) {
			if 'A' <= r && r <= 'Z' {
				r += 'a' - 'A'
			}
			f.emit(r, int32(i), int32(i+1))
			i++
			continue
		}
		if r <= 0xFFFF && bmp.inert.has(r) && (i+1 == n || boundaryBefore(src[i+1].r)) {
			f.text = append(f.text, frune{r, int32(i), int32(i + 1)})
			i++
			continue
		}
		j := i + 1
		for j < n && !boundaryBefore(src[j].r) {
			j++
		}
		f.segment(src[i:j], int32(i), int32(j))
		i = j
	}
}

// segment folds one normalization segment, src[i:j]. Most segments are
// NFKC and case-folded already (Hangul syllables, kana, Han, lower case):
// the quick checks let them through without a copy.
func (f *folder) segment(seg []srcChar, i, j int32) {
	f.seg = f.seg[:0]
	for _, c := range seg {
		f.seg = utf8.AppendRune(f.seg, c.r)
	}
	text := f.seg
	// QuickSpan is a quick yes (IsNormal would allocate to be sure);
	// normalizing text that was normal already changes nothing.
	if norm.NFKC.QuickSpan(text) != len(text) {
		f.nfkc = f.normalize(f.nfkc[:0], text)
		text = f.nfkc
	}
	if n, err := caseFold.Span(text, true); err != nil || n != len(text) {
		f.cased = foldCase(f.cased[:0], text)
		text = f.cased
		if norm.NFKC.QuickSpan(text) != len(text) {
			f.again = f.normalize(f.again[:0], text)
			text = f.again
		}
	}
	for k := 0; k < len(text); {
		r, w := utf8.DecodeRune(text[k:])
		k += w
		f.emit(r, i, j)
	}
}

// normalize appends the NFKC of src to dst. norm.Iter keeps its buffers
// in the folder (Form.Append allocates them on every call).
func (f *folder) normalize(dst, src []byte) []byte {
	f.it.Init(norm.NFKC, src)
	for !f.it.Done() {
		dst = append(dst, f.it.Next()...)
	}
	return dst
}

// emit appends one folded rune that came from src[i:j]. Ignorable runes
// and repeated white space add nothing, but the source characters they
// came from join the previous folded rune, so a match around them masks
// them too.
func (f *folder) emit(r rune, i, j int32) {
	if r > ' ' && r < utf8.RuneSelf { // the common case: printable ASCII
		f.text = append(f.text, frune{r, i, j})
		return
	}
	last := len(f.text) - 1
	space := isSpace(r)
	if space && last >= 0 && f.text[last].r == ' ' || r >= utf8.RuneSelf && ignorable(r) {
		if last >= 0 {
			f.text[last].to = j
		}
		return
	}
	if space {
		r = ' '
	}
	f.text = append(f.text, frune{r, i, j})
}

// foldCase appends the case folding of src to dst.
func foldCase(dst, src []byte) []byte {
	if cap(dst) < 2*len(src)+8 {
		dst = make([]byte, 0, 2*len(src)+8)
	}
	for {
		n, _, err := caseFold.Transform(dst[len(dst):cap(dst)], src, true)
		if err == nil {
			return dst[:len(dst)+n]
		}
		// ErrShortDst: folding grows text by at most a few bytes a rune.
		dst = make([]byte, len(dst), 2*cap(dst))
	}
}

// boundaryBefore reports whether a normalization segment may start at r
// (nothing before it combines with it).
func boundaryBefore(r rune) bool {
	if r < utf8.RuneSelf {
		return true
	}
	if r <= 0xFFFF {
		return bmpTables().boundary.has(r)
	}
	return boundaryBeforeSlow(r)
}

func boundaryBeforeSlow(r rune) bool {
	var b [utf8.UTFMax]byte
	n := utf8.EncodeRune(b[:], r)
	return norm.NFKC.Properties(b[:n]).BoundaryBefore()
}

// ignorable approximates Unicode's Default_Ignorable_Code_Point: format
// characters (Cf: zero-width space, joiners, soft hyphen, bidi controls,
// BOM), variation selectors and the other default ignorables (combining
// grapheme joiner, Hangul fillers).
func ignorable(r rune) bool {
	return unicode.In(r, unicode.Cf, unicode.Variation_Selector, unicode.Other_Default_Ignorable_Code_Point)
}

func isSpace(r rune) bool {
	if r < utf8.RuneSelf {
		return r == ' ' || '\t' <= r && r <= '\r'
	}
	return unicode.IsSpace(r)
}

// isWord reports whether r is part of a word: a letter, a digit or other
// number, or a mark (which belongs to the letter before it).
func isWord(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
	}
	return unicode.In(r, unicode.L, unicode.N, unicode.M)
}

// unspaced reports whether r belongs to a script written without spaces
// between words (Chinese, Japanese, Thai, Lao, Khmer, Myanmar). There a
// word can end and the next begin between two letters, so a match next to
// such a letter is not taken for part of a longer word; otherwise a blocked
// word could never be found inside a Chinese or Japanese sentence.
func unspaced(r rune) bool {
	return r >= 0x0E00 && unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana,
		unicode.Thai, unicode.Lao, unicode.Khmer, unicode.Myanmar)
}

// joined reports whether a and b, adjacent in the folded text, are inside
// one word: then no word boundary lies between them.
func joined(a, b rune) bool {
	return isWord(a) && isWord(b) && !unspaced(a) && !unspaced(b)
}

// bitset is a set of BMP runes.
type bitset [0x10000 / 64]uint64

func (b *bitset) has(r rune) bool { return b[r>>6]&(1<<(r&63)) != 0 }
func (b *bitset) add(r rune)      { b[r>>6] |= 1 << (r & 63) }

// bmp holds, for the Basic Multilingual Plane, what the folding would
// otherwise ask x/text's tables for at every character: whether a segment
// may start at the rune, and whether the rune is inert (a segment start
// that NFKC and case folding leave alone, neither ignorable nor space).
type bmp struct{ boundary, inert bitset }

// bmpTables is computed once, at the first filter (a few milliseconds).
var bmpTables = sync.OnceValue(func() *bmp {
	t := new(bmp)
	var b [utf8.UTFMax]byte
	for r := rune(0); r <= 0xFFFF; r++ {
		if utf8.ValidRune(r) && !boundaryBeforeSlow(r) {
			continue
		}
		t.boundary.add(r)
		n := utf8.EncodeRune(b[:], r)
		if span, err := caseFold.Span(b[:n], true); err == nil && span == n &&
			norm.NFKC.IsNormal(b[:n]) && !ignorable(r) && !isSpace(r) {
			t.inert.add(r)
		}
	}
	return t
})
