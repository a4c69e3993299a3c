package moderation

import (
	"cmp"
	"slices"
)

// automaton is an Aho-Corasick automaton over runes: one pass over the
// folded text finds every occurrence of every blocked word, overlapping
// ones included (a match that fails the word-boundary test must not hide
// another that passes).
//
// It is written here rather than taken from a library because the Go
// ones at hand match bytes, not runes, and either report only
// non-overlapping leftmost matches (which lets a match rejected for its
// word boundary hide an overlapping one that passes) or allocate per
// match; the search below allocates nothing.
//
// State 0 is the root. The root and the other states with many edges (the
// shallow ones, where the search spends its time) have a complete ASCII
// move table, fail links already followed, so an ASCII rune from such a
// state costs one lookup; other moves search the state's sorted edges.
type automaton struct {
	states []state
	edges  []edge  // state s's edges are edges[s.first:next state's first]
	moves  []int32 // 128 moves per dense state
}

// state keeps together what a step reads, so a step touches one record.
type state struct {
	first int32 // index of its first edge
	dense int32 // offset of its move table in moves, or -1
	fail  int32 // longest proper suffix that is also a state
	out   int32 // length in runes of the word that ends here, 0 if none
	dict  int32 // nearest state on the fail chain with out > 0, 0 if none
}

type edge struct {
	r  rune
	to int32
}

// A state with at least denseFanout edges gets a move table, up to
// maxDense tables (2 MiB).
const (
	denseFanout = 4
	maxDense    = 4096
)

// newAutomaton builds the automaton of words (folded, none empty).
func newAutomaton(words [][]rune) *automaton {
	type trieEdge struct {
		from int32
		edge
	}
	// The trie, with edges in a map while it grows.
	type key struct {
		s int32
		r rune
	}
	child := map[key]int32{}
	var trie []trieEdge
	out := []int32{0}
	for _, w := range words {
		var s int32
		for _, r := range w {
			t, ok := child[key{s, r}]
			if !ok {
				t = int32(len(out))
				out = append(out, 0)
				child[key{s, r}] = t
				trie = append(trie, trieEdge{s, edge{r, t}})
			}
			s = t
		}
		out[s] = int32(len(w))
	}
	slices.SortFunc(trie, func(a, b trieEdge) int {
		if c := cmp.Compare(a.from, b.from); c != 0 {
			return c
		}
		return cmp.Compare(a.r, b.r)
	})
	n := len(out)
	a := &automaton{
		states: make([]state, n+1), // one more: the end of the last state's edges
		edges:  make([]edge, len(trie)),
	}
	for i, e := range trie {
		a.edges[i] = e.edge
		a.states[e.from+1].first++
	}
	for s := range n {
		a.states[s+1].first += a.states[s].first
		a.states[s].out = out[s]
		a.states[s].dense = -1
	}

	// Fail and dictionary links and the move tables, breadth first: a
	// state's links depend only on shallower states.
	queue := make([]int32, 1, n)
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		if s == 0 || a.fanout(s) >= denseFanout && len(a.moves) < maxDense*128 {
			a.fillDense(s)
		}
		for _, e := range a.edgesOf(s) {
			t := &a.states[e.to]
			if s != 0 {
				t.fail = a.step(a.states[s].fail, e.r)
			}
			if f := a.states[t.fail]; f.out > 0 {
				t.dict = t.fail
			} else {
				t.dict = f.dict
			}
			queue = append(queue, e.to)
		}
	}
	return a
}

func (a *automaton) edgesOf(s int32) []edge {
	return a.edges[a.states[s].first:a.states[s+1].first]
}

func (a *automaton) fanout(s int32) int { return int(a.states[s+1].first - a.states[s].first) }

// fillDense gives s its complete ASCII move table. s's fail link is set
// and shallower, so its moves are final.
func (a *automaton) fillDense(s int32) {
	off := int32(len(a.moves))
	a.moves = append(a.moves, make([]int32, 128)...)
	for c := range rune(128) {
		t := a.edge(s, c)
		if t == 0 && s != 0 {
			t = a.step(a.states[s].fail, c)
		}
		a.moves[off+c] = t
	}
	a.states[s].dense = off
}

// edge is the state reached from s over r, or 0 when s has no such edge.
func (a *automaton) edge(s int32, r rune) int32 {
	es := a.edgesOf(s)
	if len(es) <= 8 {
		for _, e := range es {
			if e.r == r {
				return e.to
			}
		}
		return 0
	}
	lo, hi := 0, len(es)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		switch l := es[m].r; {
		case l == r:
			return es[m].to
		case l < r:
			lo = m + 1
		default:
			hi = m
		}
	}
	return 0
}

// step is the automaton's move from s on r.
func (a *automaton) step(s int32, r rune) int32 {
	for {
		st := &a.states[s]
		if st.dense >= 0 && r < 128 {
			return a.moves[st.dense+r]
		}
		if t := a.edge(s, r); t != 0 {
			return t
		}
		if s == 0 {
			return 0
		}
		s = st.fail
	}
}

// scan searches text for blocked words standing as words of their own
// (see joined). With first == nil it stops at the first one and reports
// true. Otherwise first must have len(text) elements: for each end
// position e it receives the start of the longest such word ending at e,
// or -1.
func (a *automaton) scan(text []frune, first []int32) bool {
	found := false
	var s int32
	for e, fr := range text {
		r := fr.r
		s = a.step(s, r)
		if first != nil {
			first[e] = -1
		}
		t := s
		if a.states[t].out == 0 {
			t = a.states[t].dict
		}
		// Every word ending at e ends with the same rune, so they all pass
		// or all fail the test at the end.
		if t == 0 || e+1 < len(text) && joined(r, text[e+1].r) {
			continue
		}
		// Longest first: the dictionary chain shortens as it goes.
		for ; t != 0; t = a.states[t].dict {
			b := e + 1 - int(a.states[t].out)
			if b > 0 && joined(text[b-1].r, text[b].r) {
				continue
			}
			if first == nil {
				return true
			}
			first[e] = int32(b)
			found = true
			break
		}
	}
	return found
}
