package archivetest

import (
	"encoding/json"
	"maps"
	"slices"
	"testing"

	"github.com/papercast/papercast/usecase"
)

func sortedKeys(m map[string]json.RawMessage) []string { return slices.Sorted(maps.Keys(m)) }

// BenchElements is the size of a benchmarked document: a well-filled paper.
const BenchElements = 100

// Bench measures Put (each of a fresh paper) and Get (of papers put
// beforehand) of documents of BenchElements notes.
func Bench(b *testing.B, a usecase.Archive) {
	b.Run("Put", func(b *testing.B) {
		doc := Document(ID(), BenchElements)
		b.ReportAllocs()
		for b.Loop() {
			doc.Paper.ID = ID()
			if err := a.Put(b.Context(), doc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Get", func(b *testing.B) {
		ids := make([]string, 64)
		for i := range ids {
			ids[i] = ID()
			if err := a.Put(b.Context(), Document(ids[i], BenchElements)); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := a.Get(b.Context(), ids[i%len(ids)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}
