package moderation

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// naiveFirst is the specification of automaton.scan: for each end
// position, the smallest start of a word that ends there and stands as a
// word of its own, or -1.
func naiveFirst(words [][]rune, text []frune) []int32 {
	first := make([]int32, len(text))
	for e := range text {
		first[e] = -1
		for _, w := range words {
			b := e + 1 - len(w)
			if b < 0 || int32(b) >= first[e] && first[e] >= 0 {
				continue
			}
			match := true
			for i, r := range w {
				if text[b+i].r != r {
					match = false
					break
				}
			}
			if !match || b > 0 && joined(text[b-1].r, text[b].r) || e+1 < len(text) && joined(text[e].r, text[e+1].r) {
				continue
			}
			first[e] = int32(b)
		}
	}
	return first
}

// TestAutomatonAgreesWithNaiveSearch: on random words and texts over a
// small alphabet (so that words overlap, nest and share suffixes a lot),
// with enough words that some states get dense move tables, the automaton
// finds exactly what trying every word at every position finds.
func TestAutomatonAgreesWithNaiveSearch(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	alphabet := []rune("ab c-바")
	randomRunes := func(n int) []rune {
		rs := make([]rune, n)
		for i := range rs {
			rs[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return rs
	}
	for round := range 300 {
		var words [][]rune
		for range 1 + rng.IntN(40) {
			if w := randomRunes(1 + rng.IntN(5)); !slices.ContainsFunc(words, func(x []rune) bool { return slices.Equal(x, w) }) {
				words = append(words, w)
			}
		}
		a := newAutomaton(words)
		for range 20 {
			rs := randomRunes(rng.IntN(30))
			text := make([]frune, len(rs))
			for i, r := range rs {
				text[i] = frune{r: r}
			}
			want := naiveFirst(words, text)
			got := make([]int32, len(text))
			found := a.scan(text, got)
			if !slices.Equal(got, want) {
				t.Fatalf("round %d: words %q, text %q: first = %v, want %v", round, words, string(rs), got, want)
			}
			anyWant := slices.ContainsFunc(want, func(b int32) bool { return b >= 0 })
			if found != anyWant || a.scan(text, nil) != anyWant {
				t.Fatalf("round %d: words %q, text %q: found %v, want %v", round, words, string(rs), found, anyWant)
			}
		}
	}
}
