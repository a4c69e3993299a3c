package storetest

import (
	"fmt"
	"testing"

	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/protocol"
	"github.com/papercast/papercast/usecase"
)

func testHistory(t *testing.T, e *env) {
	subtests(t, e, []subtest{
		{"HistoryReturnsExactlyTheFramesAfterSince", historyReturnsExactlyTheFramesAfterSince},
		{"FreshPaperHasEmptyHistory", freshPaperHasEmptyHistory},
		{"HistoryIsBoundedToHistorySize", historyIsBoundedToHistorySize},
	})
}

func historyReturnsExactlyTheFramesAfterSince(t *testing.T, e *env) {
	p := e.newPaper(t)
	var ops []domain.Op
	for i := range 5 {
		ops = append(ops, up(fmt.Sprintf("n%d", i%3), "v", fmt.Sprint(i)))
	}
	frames := framesOf(e.applyAll(t, p.ID, 0, ops))
	// seq 6 is a policy change: history keeps every kind of seq'd frame.
	// (A final paper keeps none: see FinalizeDropsTheHistory.)
	if _, err := e.Store.SetEdit(t.Context(), p.ID, domain.EditOpen); err != nil {
		t.Fatalf("SetEdit: %v", err)
	}
	cases := []struct {
		name  string
		epoch string
		since uint64
		from  int // want frames[from:], when err is nil
		err   error
	}{
		{"FromZeroIsEverything", p.Epoch, 0, 0, nil},
		{"FromTheMiddle", p.Epoch, 3, 3, nil},
		{"JustTheLast", p.Epoch, 5, 5, nil},
		{"SinceCurrentIsEmpty", p.Epoch, 6, 6, nil},
		{"SinceAheadIsInvalid", p.Epoch, 7, 0, domain.ErrInvalid},
		{"FarAheadIsInvalid", p.Epoch, 1 << 40, 0, domain.ErrInvalid},
		{"WrongEpochIsGone", "not-the-epoch", 3, 0, usecase.ErrHistoryGone},
		{"WrongEpochIsGoneEvenAtCurrent", "not-the-epoch", 6, 0, usecase.ErrHistoryGone},
		{"EmptyEpochIsGone", "", 0, 0, usecase.ErrHistoryGone},
	}
	all := append(frames, protocol.PolicyFrame(6, domain.EditOpen))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			evs, cur, err := e.Store.History(t.Context(), p.ID, c.epoch, c.since)
			wantErr(t, "History", err, c.err)
			if c.err != nil {
				return
			}
			if cur != 6 {
				t.Fatalf("current seq %d, want 6", cur)
			}
			wantFrames(t, "History", eventFrames(evs), all[c.from:])
			for i, ev := range evs {
				seq := c.since + uint64(i) + 1
				kind := domain.EventOp
				if seq == 6 {
					kind = domain.EventPolicy
				}
				if ev.Seq != seq || ev.Kind != kind {
					t.Fatalf("event %d has kind %q seq %d, want %q %d", i, ev.Kind, ev.Seq, kind, seq)
				}
			}
		})
	}
}

func freshPaperHasEmptyHistory(t *testing.T, e *env) {
	p := e.newPaper(t)
	evs, cur, err := e.Store.History(t.Context(), p.ID, p.Epoch, 0)
	if err != nil || cur != 0 || len(evs) != 0 {
		t.Fatalf("History = %d events, cur %d, %v; want none, 0, nil", len(evs), cur, err)
	}
	_, _, err = e.Store.History(t.Context(), p.ID, p.Epoch, 1)
	wantErr(t, "History since 1 of a fresh paper", err, domain.ErrInvalid)
}

func historyIsBoundedToHistorySize(t *testing.T, e *env) {
	p := e.newPaper(t)
	n := e.HistorySize + 3
	ops := make([]domain.Op, n)
	for i := range ops {
		ops[i] = up("n1", "v", fmt.Sprint(i))
	}
	frames := framesOf(e.applyAll(t, p.ID, 0, ops))
	cur := uint64(n)
	oldest := cur - uint64(e.HistorySize) // the last since still covered
	cases := []struct {
		name  string
		since uint64
		err   error
	}{
		{"ExactlyHistorySizeBackIsKept", oldest, nil},
		{"OneLessIsKept", oldest + 1, nil},
		{"OneFurtherBackIsGone", oldest - 1, usecase.ErrHistoryGone},
		{"FromZeroIsGone", 0, usecase.ErrHistoryGone},
		{"SinceCurrentIsEmpty", cur, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			evs, got, err := e.Store.History(t.Context(), p.ID, p.Epoch, c.since)
			wantErr(t, "History", err, c.err)
			if c.err != nil {
				return
			}
			if got != cur {
				t.Fatalf("current seq %d, want %d", got, cur)
			}
			wantFrames(t, "History", eventFrames(evs), frames[c.since:])
		})
	}
}
