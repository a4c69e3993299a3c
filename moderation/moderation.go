// Package moderation is the content filter of papercast: it finds blocked
// words and phrases in the text people write on a paper (element field
// values, a paper's title and recipient, a display name) and, by policy,
// refuses the text or masks each match with `*`.
//
// Matching is case-insensitive and folds what Unicode's NFKC and case
// folding fold (fullwidth and mathematical letters, ligatures, "ß" and
// "ss", composed and decomposed accents), ignores zero-width and other
// default-ignorable characters, and treats any run of white space as one
// space. A match counts only as a word of its own: "ass" is not found in
// "class" or "assess", since the characters on each side of a match must
// not continue a word (letters, digits and marks per Unicode; in scripts
// written without spaces, Chinese, Japanese, Thai, Lao, Khmer and Myanmar,
// any position is a word boundary). Masking replaces each character of the
// original text that took part in a match with one `*`, so the text keeps
// its length in runes and every other byte.
//
// All words are searched in one pass over the text (an Aho-Corasick
// automaton over the folded runes). A Filter is immutable and safe for
// concurrent use. The package does no IO beyond reading the words file in
// New.
package moderation

import (
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/papercast/papercast/domain"
)

// Policy says what happens to text with a blocked word in it.
type Policy string

const (
	// Reject refuses the whole change: nothing is stored.
	Reject Policy = "reject"
	// Mask replaces each match with `*` of the same length and lets the
	// change through.
	Mask Policy = "mask"
)

// ParsePolicy reads a policy name; empty means Reject.
func ParsePolicy(s string) (Policy, error) {
	switch p := Policy(strings.ToLower(strings.TrimSpace(s))); p {
	case "":
		return Reject, nil
	case Reject, Mask:
		return p, nil
	}
	return "", fmt.Errorf("moderation.policy %q: want reject or mask", s)
}

// ErrFiltered is the error of text refused under Reject: domain.ErrFiltered,
// which the deliveries answer with the wire code `filtered`, so a Filter
// serves as the use case's content filter as it is.
var ErrFiltered = domain.ErrFiltered

// Config is the `moderation` section of the configuration.
type Config struct {
	// BlockedWords are words or phrases, inline.
	BlockedWords []string
	// BlockedWordsFile is a file of one word or phrase a line; blank lines
	// and lines starting with '#' are skipped. Empty: none.
	BlockedWordsFile string
	// Policy is Reject or Mask; empty means Reject.
	Policy Policy
}

// Filter is a compiled word list and its policy. A nil *Filter, or one
// without words, is off: it finds nothing and changes nothing.
type Filter struct {
	policy Policy
	words  int
	ac     *automaton
}

// New builds the filter of c, reading c.BlockedWordsFile if one is given.
func New(c Config) (*Filter, error) {
	words := append([]string(nil), c.BlockedWords...)
	if c.BlockedWordsFile != "" {
		more, err := ReadWordsFile(c.BlockedWordsFile)
		if err != nil {
			return nil, err
		}
		words = append(words, more...)
	}
	return NewFilter(words, c.Policy)
}

// NewFilter builds a filter of words (each trimmed; blank ones skipped).
func NewFilter(words []string, policy Policy) (*Filter, error) {
	p, err := ParsePolicy(string(policy))
	if err != nil {
		return nil, err
	}
	f := &Filter{policy: p}
	var folded [][]rune
	var fo folder
	seen := map[string]bool{}
	for _, w := range words {
		w = strings.TrimSpace(w)
		if w == "" {
			continue
		}
		if !utf8.ValidString(w) {
			return nil, fmt.Errorf("moderation: blocked word %q is not valid UTF-8", w)
		}
		fo.run(charsOf(nil, w))
		k := trimSpaces(fo.text)
		if len(k) == 0 || seen[string(k)] {
			continue // only ignorable characters, or a duplicate once folded
		}
		seen[string(k)] = true
		folded = append(folded, k)
	}
	f.words = len(folded)
	if f.words > 0 {
		f.ac = newAutomaton(folded)
	}
	return f, nil
}

// trimSpaces returns the runes of text without leading and trailing spaces.
func trimSpaces(text []frune) []rune {
	for len(text) > 0 && text[0].r == ' ' {
		text = text[1:]
	}
	for len(text) > 0 && text[len(text)-1].r == ' ' {
		text = text[:len(text)-1]
	}
	rs := make([]rune, len(text))
	for i, fr := range text {
		rs[i] = fr.r
	}
	return rs
}

// Enabled reports whether the filter has any word to look for.
func (f *Filter) Enabled() bool { return f != nil && f.ac != nil }

// Policy is the filter's policy (Reject for a nil filter).
func (f *Filter) Policy() Policy {
	if f == nil {
		return Reject
	}
	return f.policy
}

// Words is the number of distinct words and phrases after folding.
func (f *Filter) Words() int {
	if f == nil {
		return 0
	}
	return f.words
}

// scratch is the per-call working memory, pooled so that a check in the
// hot path allocates nothing.
type scratch struct {
	src   []srcChar
	fo    folder
	first []int32
	mask  []bool // per source character
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

func getScratch() *scratch { return scratchPool.Get().(*scratch) }

// putScratch returns sc to the pool unless one huge text made it huge.
func putScratch(sc *scratch) {
	if cap(sc.src) <= 1<<16 {
		scratchPool.Put(sc)
	}
}

// charsOf appends the characters of s, with their byte offsets, to dst.
func charsOf(dst []srcChar, s string) []srcChar {
	for i, r := range s {
		dst = append(dst, srcChar{r: r, lo: int32(i)})
		if n := len(dst); n > 1 {
			dst[n-2].hi = int32(i)
		}
	}
	if n := len(dst); n > 0 {
		dst[n-1].hi = int32(len(s))
	}
	return dst
}

// matches reports whether the characters in sc.src hold a blocked word.
func (f *Filter) matches(sc *scratch) bool {
	sc.fo.run(sc.src)
	return f.ac.scan(sc.fo.text, nil)
}

// marks finds every blocked word in sc.src and sets sc.mask for each
// source character to be masked. It reports whether there was any.
func (f *Filter) marks(sc *scratch) bool {
	sc.fo.run(sc.src)
	text := sc.fo.text
	sc.first = resize(sc.first, len(text))
	if !f.ac.scan(text, sc.first) {
		return false
	}
	sc.mask = resize(sc.mask, len(sc.src))
	clear(sc.mask)
	// Right to left, reach is the smallest start of the matches that end
	// at or after e: position e is inside a match exactly when reach <= e.
	reach := int32(len(text))
	for e := len(text) - 1; e >= 0; e-- {
		if b := sc.first[e]; b >= 0 && b < reach {
			reach = b
		}
		if reach <= int32(e) {
			for c := text[e].from; c < text[e].to; c++ {
				sc.mask[c] = true
			}
		}
	}
	return true
}

func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// MatchString reports whether s holds a blocked word.
func (f *Filter) MatchString(s string) bool {
	if !f.Enabled() || s == "" {
		return false
	}
	sc := getScratch()
	defer putScratch(sc)
	sc.src = charsOf(sc.src[:0], s)
	return f.matches(sc)
}

// MaskString returns s with every blocked word masked, and whether there
// was any (when not, s itself is returned).
func (f *Filter) MaskString(s string) (string, bool) {
	if !f.Enabled() || s == "" {
		return s, false
	}
	sc := getScratch()
	defer putScratch(sc)
	sc.src = charsOf(sc.src[:0], s)
	if !f.marks(sc) {
		return s, false
	}
	var b strings.Builder
	b.Grow(len(s))
	for i, c := range sc.src {
		if sc.mask[i] {
			b.WriteByte('*')
		} else {
			b.WriteString(s[c.lo:c.hi])
		}
	}
	return b.String(), true
}

// ApplyString applies the policy to s: under Reject an error wrapping
// ErrFiltered when s holds a blocked word; under Mask s masked. what names
// the text in the error ("title", "name").
func (f *Filter) ApplyString(what, s string) (string, error) {
	if f.Policy() == Mask {
		m, _ := f.MaskString(s)
		return m, nil
	}
	if f.MatchString(s) {
		return s, fmt.Errorf("%w: %s contains a blocked word", ErrFiltered, what)
	}
	return s, nil
}
