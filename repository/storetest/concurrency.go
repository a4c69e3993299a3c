package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/protocol"
	"github.com/papercast/papercast/usecase"
)

func testConcurrency(t *testing.T, e *env) {
	subtests(t, e, []subtest{
		{"ConcurrentAppliesTakeGapFreeSeqsDeliveredInOrder", concurrentAppliesTakeGapFreeSeqsDeliveredInOrder},
		{"SnapshotElementsMatchItsSeqUnderConcurrentWrites", snapshotElementsMatchItsSeqUnderConcurrentWrites},
		{"ConcurrentCreatesOfOneIDHaveOneWinner", concurrentCreatesOfOneIDHaveOneWinner},
	})
}

func concurrentAppliesTakeGapFreeSeqsDeliveredInOrder(t *testing.T, e *env) {
	p := e.newPaper(t)
	recs := make([]*recorder, 2)
	for i := range recs {
		recs[i], _ = e.subscribe(t, p.ID)
	}
	writers := min(8, e.Limits.MaxElements)
	const perWriter = 40
	n := writers * perWriter
	bodies := make([][]byte, n+1) // by seq
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				op := up(fmt.Sprintf("w%d", w), "n", fmt.Sprint(i), "writer", fmt.Sprintf(`"w%d"`, w))
				body := protocol.OpBody(op, domain.Author{Session: fmt.Sprintf("s%d", w), User: "u"})
				seq, err := e.Store.Apply(t.Context(), p.ID, op, body, usecase.OpOrder{}, editor)
				if err != nil {
					t.Errorf("writer %d: Apply: %v", w, err)
					return
				}
				mu.Lock()
				if seq == 0 || seq > uint64(n) || bodies[seq] != nil {
					t.Errorf("writer %d got seq %d: out of range or taken twice", w, seq)
				} else {
					bodies[seq] = body
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	want := make([][]byte, n)
	for seq := 1; seq <= n; seq++ {
		if bodies[seq] == nil {
			t.Fatalf("no Apply returned seq %d", seq)
		}
		want[seq-1] = protocol.OpFrame(uint64(seq), bodies[seq])
	}
	for i, r := range recs {
		wantFrames(t, fmt.Sprintf("subscriber %d", i), r.waitN(t, n), want)
	}
	if s := e.seqOf(t, p.ID); s != uint64(n) {
		t.Fatalf("paper seq %d, want %d", s, n)
	}
	from := max(0, n-e.HistorySize)
	evs, _, err := e.Store.History(t.Context(), p.ID, p.Epoch, uint64(from))
	if err != nil {
		t.Fatalf("History: %v", err)
	}
	wantFrames(t, "History", eventFrames(evs), want[from:])
	// Each writer's ops are sequential, so its element ends with its last value.
	doc := e.snapshot(t, p.ID)
	if len(doc.Elements) != writers {
		t.Fatalf("%d elements, want %d", len(doc.Elements), writers)
	}
	for _, el := range doc.Elements {
		if got := string(el.Fields["n"]); got != fmt.Sprint(perWriter-1) {
			t.Fatalf("element %s has n=%s, want %d", el.ID, got, perWriter-1)
		}
	}
}

func snapshotElementsMatchItsSeqUnderConcurrentWrites(t *testing.T, e *env) {
	// A snapshot must be one state: its elements equal replaying the
	// paper's frames 1..Seq, whatever the writers do meanwhile.
	p := e.newPaper(t)
	rec, _ := e.subscribe(t, p.ID)
	const writers, perWriter = 2, 150
	per := max(2, e.Limits.MaxElements/writers)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range writers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			exists := map[string]bool{}
			for range perWriter {
				op := randomOp(rng, fmt.Sprintf("w%d-%d", w, rng.IntN(per)), exists)
				if _, err := e.Store.Apply(t.Context(), p.ID, op, protocol.OpBody(op, author), usecase.OpOrder{}, editor); err != nil {
					t.Errorf("writer %d: Apply %s %s: %v", w, op.Kind, op.ID, err)
					return
				}
				exists[op.ID] = op.Kind == domain.OpUpsert
			}
		})
	}
	var snaps []domain.Document
	var readErr error
	var rwg sync.WaitGroup
	rwg.Go(func() {
		for {
			doc, err := e.Store.Snapshot(t.Context(), p.ID)
			if err != nil {
				readErr = err
				return
			}
			if len(snaps) < 5000 {
				snaps = append(snaps, doc)
			}
			select {
			case <-stop:
				return
			default:
			}
		}
	})
	wg.Wait()
	close(stop)
	rwg.Wait()
	if readErr != nil {
		t.Fatalf("Snapshot: %v", readErr)
	}
	if t.Failed() {
		return
	}
	total := writers * perWriter
	prefix := replayPrefixes(t, rec.waitN(t, total))
	mid := 0
	for _, doc := range append(snaps, e.snapshot(t, p.ID)) {
		s := doc.Paper.Seq
		if s > uint64(total) {
			t.Fatalf("snapshot at seq %d beyond the %d ops applied", s, total)
		}
		if s > 0 && s < uint64(total) {
			mid++
		}
		if d := diffElements(doc.Elements, prefix[s]); d != "" {
			t.Fatalf("snapshot at seq %d differs from the replay of frames 1..%d: %s", s, s, d)
		}
	}
	t.Logf("%d snapshots, %d taken mid-stream", len(snaps), mid)
}

func concurrentCreatesOfOneIDHaveOneWinner(t *testing.T, e *env) {
	in := paperFixture()
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { _, errs[i] = e.Store.Create(t.Context(), in) })
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, domain.ErrConflict):
			t.Fatalf("Create: %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d concurrent Creates of one id succeeded, want 1", won)
	}
}

// randomOp is an upsert of a few random fields (set or removed) of element
// id, or now and then its delete if exists says it is there.
func randomOp(rng *rand.Rand, id string, exists map[string]bool) domain.Op {
	if exists[id] && rng.IntN(4) == 0 {
		return del(id)
	}
	f := map[string]json.RawMessage{}
	for _, name := range []string{"a", "b", "c"} {
		switch rng.IntN(3) {
		case 0:
			f[name] = json.RawMessage(fmt.Sprint(rng.IntN(1000)))
		case 1:
			f[name] = json.RawMessage("null")
		}
	}
	if len(f) == 0 {
		f["a"] = json.RawMessage(`"x"`)
	}
	return upFields(id, f)
}

// replayPrefixes decodes op frames 1..n and returns prefix, where prefix[s]
// is the document the replay of frames 1..s gives.
func replayPrefixes(t *testing.T, frames [][]byte) [][]domain.Element {
	t.Helper()
	prefix := make([][]domain.Element, len(frames)+1)
	m := newModel()
	prefix[0] = m.elements()
	for i, f := range frames {
		of, err := decodeOpFrame(f)
		if err != nil {
			t.Fatal(err)
		}
		if of.Seq != uint64(i+1) {
			t.Fatalf("frame %d has seq %d", i, of.Seq)
		}
		m.apply(domain.Op{Kind: of.Op, ID: of.ID, Fields: of.Fields})
		prefix[i+1] = cloneElements(m.elements())
	}
	return prefix
}

func cloneElements(els []domain.Element) []domain.Element {
	out := slices.Clone(els)
	for i := range out {
		out[i].Fields = make(map[string]json.RawMessage, len(els[i].Fields))
		for k, v := range els[i].Fields {
			out[i].Fields[k] = v
		}
	}
	return out
}
