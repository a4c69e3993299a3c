package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/usecase"
)

func testBus(t *testing.T, e *env) {
	subtests(t, e, []subtest{
		{"SubscriptionIsActiveWhenSubscribeReturns", subscriptionIsActiveWhenSubscribeReturns},
		{"EveryFrameReachesEverySubscriberOfItsPaperAndNoOther", everyFrameReachesEverySubscriberOfItsPaperAndNoOther},
		{"UnsubscribeStopsDelivery", unsubscribeStopsDelivery},
		{"ResubscribingAfterTheLastUnsubscribeWorks", resubscribingAfterTheLastUnsubscribeWorks},
		{"JoinBySubscribeThenSnapshotMissesNothing", joinBySubscribeThenSnapshotMissesNothing},
	})
}

func subscriptionIsActiveWhenSubscribeReturns(t *testing.T, e *env) {
	p := e.newPaper(t)
	for i := range 20 {
		rec, unsub := e.subscribe(t, p.ID)
		a := e.apply(t, p.ID, up("n1", "v", fmt.Sprint(i)))
		wantFrames(t, fmt.Sprintf("round %d", i), rec.waitN(t, 1), [][]byte{a.frame()})
		unsub()
	}
}

func everyFrameReachesEverySubscriberOfItsPaperAndNoOther(t *testing.T, e *env) {
	pa, pb := e.newPaper(t), e.newPaper(t)
	var recsA []*recorder
	for range 3 {
		r, _ := e.subscribe(t, pa.ID)
		recsA = append(recsA, r)
	}
	recB, _ := e.subscribe(t, pb.ID)
	var fa, fb [][]byte
	for i := range 12 {
		fa = append(fa, e.apply(t, pa.ID, up(fmt.Sprintf("n%d", i%3), "v", fmt.Sprint(i))).frame())
		if i%2 == 0 {
			fb = append(fb, e.apply(t, pb.ID, up("m", "v", fmt.Sprint(i))).frame())
		}
	}
	for i, r := range recsA {
		wantFrames(t, fmt.Sprintf("subscriber %d of paper A", i), r.waitN(t, len(fa)), fa)
	}
	wantFrames(t, "subscriber of paper B", recB.waitN(t, len(fb)), fb)
	for i, r := range recsA {
		wantFrames(t, fmt.Sprintf("subscriber %d of paper A up to a barrier", i), e.barrier(t, r, pa.ID), fa)
	}
	wantFrames(t, "subscriber of paper B up to a barrier", e.barrier(t, recB, pb.ID), fb)
}

func unsubscribeStopsDelivery(t *testing.T, e *env) {
	p := e.newPaper(t)
	gone, unsub := e.subscribe(t, p.ID)
	stays, _ := e.subscribe(t, p.ID)
	first := e.apply(t, p.ID, up("n1", "v", "1"))
	gone.waitN(t, 1)
	unsub()
	var rest [][]byte
	for i := range 5 {
		rest = append(rest, e.apply(t, p.ID, up("n1", "v", fmt.Sprint(i+2))).frame())
	}
	wantFrames(t, "remaining subscriber", e.barrier(t, stays, p.ID), append([][]byte{first.frame()}, rest...))
	time.Sleep(50 * time.Millisecond) // give a leaking delivery time to show
	wantFrames(t, "unsubscribed handler", gone.all(), [][]byte{first.frame()})
}

func resubscribingAfterTheLastUnsubscribeWorks(t *testing.T, e *env) {
	p := e.newPaper(t)
	for i := range 10 {
		rec, unsub := e.subscribe(t, p.ID)
		unsub()
		rec2, unsub2 := e.subscribe(t, p.ID)
		a := e.apply(t, p.ID, up("n1", "v", fmt.Sprint(i)))
		wantFrames(t, fmt.Sprintf("round %d", i), rec2.waitN(t, 1), [][]byte{a.frame()})
		unsub2()
		if got := rec.all(); len(got) != 0 {
			t.Fatalf("round %d: unsubscribed handler got %s", i, framesString(got))
		}
	}
}

func joinBySubscribeThenSnapshotMissesNothing(t *testing.T, e *env) {
	// The join protocol the usecase relies on: subscribe, snapshot at S,
	// then apply the frames with seq > S. While ops stream in, every
	// joiner must end with exactly the document, with no gap.
	p := e.newPaper(t)
	const total = 200
	ids := elementIDs(min(4, e.Limits.MaxElements))
	var wg sync.WaitGroup
	writing := make(chan struct{})
	wg.Go(func() {
		defer close(writing)
		for i := range total {
			time.Sleep(100 * time.Microsecond) // let joiners land mid-stream
			op := up(ids[i%len(ids)], "v", fmt.Sprint(i))
			if i%7 == 6 {
				op = del(ids[i%len(ids)])
			}
			if _, err := e.Store.Apply(t.Context(), p.ID, op, []byte(`"op":"x"}`), usecase.OpOrder{}, editor); err != nil && (op.Kind != domain.OpDelete) {
				t.Errorf("writer: Apply: %v", err)
				return
			}
		}
	})
	type joiner struct {
		rec  *recorder
		snap domain.Document
	}
	var joiners []joiner
join:
	for len(joiners) < 30 {
		rec, _ := e.subscribe(t, p.ID)
		joiners = append(joiners, joiner{rec, e.snapshot(t, p.ID)})
		select {
		case <-writing:
			break join
		case <-time.After(time.Millisecond):
		}
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	final := e.seqOf(t, p.ID)
	for i, j := range joiners {
		if j.snap.Paper.Seq == final {
			continue
		}
		frames := j.rec.waitN(t, 1)
		// Wait for the frame of the final seq, then check the tail.
		deadline := time.Now().Add(e.waitTimeout())
		for {
			last, err := decodeOpFrame(frames[len(frames)-1])
			if err == nil && last.Seq == final {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("joiner %d never got seq %d", i, final)
			}
			time.Sleep(time.Millisecond)
			frames = j.rec.all()
		}
		next := j.snap.Paper.Seq + 1
		for _, f := range frames {
			of, err := decodeOpFrame(f)
			if err != nil {
				t.Fatal(err)
			}
			if of.Seq < next {
				continue // already in the snapshot
			}
			if of.Seq != next {
				t.Fatalf("joiner %d (snapshot at %d) got seq %d, want %d", i, j.snap.Paper.Seq, of.Seq, next)
			}
			next++
		}
		if next != final+1 {
			t.Fatalf("joiner %d ended at seq %d, want %d", i, next-1, final)
		}
	}
}
