//go:build unix

package moderation

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the CPU time this process has used. The shared machine runs
// other work beside a benchmark, so wall time per op overstates the cost;
// the benchmarks report cpu-ns/op as well.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loop runs op b.N times and reports its CPU time per op.
func loop(b *testing.B, op func()) {
	b.ReportAllocs()
	start := cpuTime(b)
	for b.Loop() {
		op()
	}
	b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/op")
}

// benchWords makes n distinct lowercase words of 4 to 10 letters, the same
// every run.
func benchWords(n int) []string {
	rng := rand.New(rand.NewPCG(1, 2))
	seen := map[string]bool{}
	words := make([]string, 0, n)
	for len(words) < n {
		b := make([]byte, 4+rng.IntN(7))
		for i := range b {
			b[i] = 'a' + byte(rng.IntN(26))
		}
		if w := string(b); !seen[w] {
			seen[w] = true
			words = append(words, w)
		}
	}
	return words
}

// benchValue is a JSON string value of about 4 KiB made of the given
// words, with one blocked word every ~50 words.
func benchValue(vocab []string, blocked []string) json.RawMessage {
	rng := rand.New(rand.NewPCG(3, 4))
	var b strings.Builder
	b.WriteByte('"')
	for n := 0; b.Len() < 4096-16; n++ {
		if n > 0 {
			b.WriteByte(' ')
		}
		if n%50 == 49 {
			b.WriteString(blocked[rng.IntN(len(blocked))])
		} else {
			b.WriteString(vocab[rng.IntN(len(vocab))])
		}
	}
	b.WriteByte('"')
	return json.RawMessage(b.String())
}

var benchCases = []struct {
	name  string
	vocab []string
}{
	{"latin", strings.Fields("happy birthday to you dear friend we all wish the best year ever thanks for everything")},
	{"hangul", strings.Fields("생일 축하해 친구야 올해도 행복하고 건강하게 지내 항상 고마워 사랑해")},
	{"mixed", strings.Fields("Happy ＢＩＲＴＨＤＡＹ café Straße 생일 축하해 誕生日 おめでとう ﬁne")},
}

// BenchmarkFilter4KiB10kWords: a 4 KiB value against 10,000 blocked
// words, the size named in the issue.
func BenchmarkFilter4KiB10kWords(b *testing.B) {
	words := benchWords(10_000)
	f, err := NewFilter(words, Mask)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range benchCases {
		v := benchValue(bc.vocab, words)
		b.Run("match/"+bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(v)))
			loop(b, func() {
				if ok, _ := f.MatchJSON(v); !ok {
					b.Fatal("no match")
				}
			})
		})
		b.Run("mask/"+bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(v)))
			loop(b, func() {
				if _, changed, _ := f.MaskJSON(v); !changed {
					b.Fatal("no match")
				}
			})
		})
		clean := benchValue(bc.vocab, bc.vocab)
		b.Run("clean/"+bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(clean)))
			loop(b, func() {
				if ok, _ := f.MatchJSON(clean); ok {
					b.Fatal("match")
				}
			})
		})
	}
}

// BenchmarkNewFilter10kWords is the cost at start-up.
func BenchmarkNewFilter10kWords(b *testing.B) {
	words := benchWords(10_000)
	loop(b, func() {
		if _, err := NewFilter(words, Mask); err != nil {
			b.Fatal(err)
		}
	})
}
