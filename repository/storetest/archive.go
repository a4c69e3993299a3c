package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/papercast/papercast/domain"
)

// testArchive pins down usecase.ArchiveQueue: the to-archive set finalize
// fills, its leases, Done and Backlog. The set is shared by every paper of
// the store, so the cases look only at their own papers and at Backlog
// differences.
func testArchive(t *testing.T, e *env) {
	if e.Queue == nil {
		t.Fatal("storetest: Env needs Queue (the store's usecase.ArchiveQueue)")
	}
	subtests(t, e, []subtest{
		{"FinalizeQueuesThePaperDueAtItsFinalization", finalizeQueuesThePaper},
		{"ALeaseKeepsOthersOffUntilItRunsOut", leaseKeepsOthersOff},
		{"TwoClaimersNeverGetTheSamePaper", twoClaimersNeverGetTheSamePaper},
		{"DoneDropsItAndExpiresThePaperAfterKeep", doneExpiresAfterKeep},
		{"DoneTwiceDoesNotExtendTheKeep", doneTwiceDoesNotExtendTheKeep},
		{"DoneOnAnOpenPaperChangesNothing", doneOnAnOpenPaperChangesNothing},
		{"ADeletedPaperLeavesTheQueue", deletedPaperLeavesTheQueue},
	})
}

// archiveEpoch is a base time for claims, whole milliseconds (the Redis
// store keeps due times in ms), later than every finalization of the
// other groups.
var archiveEpoch = time.Now().Add(24 * time.Hour).Truncate(time.Second)

func (e *env) finalizeAt(t *testing.T, id string, at time.Time) {
	t.Helper()
	if _, err := e.Store.Finalize(t.Context(), id, at); err != nil {
		t.Fatalf("Finalize: %v", err)
	}
}

func (e *env) backlog(t *testing.T) int {
	t.Helper()
	n, err := e.Queue.Backlog(t.Context())
	if err != nil {
		t.Fatalf("Backlog: %v", err)
	}
	return n
}

// claims reports whether a claim of everything due at now returns id.
func (e *env) claims(t *testing.T, now time.Time, lease time.Duration, id string) bool {
	t.Helper()
	ids, err := e.Queue.Claim(t.Context(), now, lease, 100000)
	if err != nil {
		t.Fatalf("Claim: %v", err)
	}
	for _, got := range ids {
		if got == id {
			return true
		}
	}
	return false
}

func (e *env) done(t *testing.T, id string, keep time.Duration) {
	t.Helper()
	if err := e.Queue.Done(t.Context(), id, keep); err != nil {
		t.Fatalf("Done: %v", err)
	}
}

func finalizeQueuesThePaper(t *testing.T, e *env) {
	at := archiveEpoch.Add(time.Hour)
	before := e.backlog(t)
	p := e.newPaper(t)
	e.apply(t, p.ID, up("n1", "a", "1"))
	if e.claims(t, at.Add(time.Hour), time.Minute, p.ID) {
		t.Fatal("an open paper was claimed for the archive")
	}
	if got := e.backlog(t); got != before {
		t.Fatalf("Backlog %d after creating an open paper, want %d", got, before)
	}
	e.finalizeAt(t, p.ID, at)
	if got := e.backlog(t); got != before+1 {
		t.Fatalf("Backlog %d after Finalize, want %d", got, before+1)
	}
	if e.claims(t, at.Add(-time.Millisecond), time.Minute, p.ID) {
		t.Fatal("claimed before it was due")
	}
	if !e.claims(t, at, time.Minute, p.ID) {
		t.Fatal("a finalized paper was not claimed when due")
	}
	if got := e.backlog(t); got != before+1 {
		t.Fatalf("Backlog %d while leased, want %d (a lease is not done)", got, before+1)
	}
}

func leaseKeepsOthersOff(t *testing.T, e *env) {
	at := archiveEpoch.Add(2 * time.Hour)
	p := e.newPaper(t)
	e.finalizeAt(t, p.ID, at)
	const lease = time.Minute
	if !e.claims(t, at, lease, p.ID) {
		t.Fatal("not claimed when due")
	}
	if e.claims(t, at.Add(lease-time.Millisecond), lease, p.ID) {
		t.Fatal("claimed again inside the lease")
	}
	// The first claimer died: its lease runs out and another takes it.
	if !e.claims(t, at.Add(lease), lease, p.ID) {
		t.Fatal("not claimed again once the lease ran out")
	}
	if e.claims(t, at.Add(2*lease-time.Millisecond), lease, p.ID) {
		t.Fatal("the second lease did not keep others off")
	}
}

func twoClaimersNeverGetTheSamePaper(t *testing.T, e *env) {
	at := archiveEpoch.Add(3 * time.Hour)
	ours := map[string]bool{}
	for range 20 {
		p := e.newPaper(t)
		e.finalizeAt(t, p.ID, at)
		ours[p.ID] = true
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for range 2 {
		wg.Go(func() {
			for {
				ids, err := e.Queue.Claim(t.Context(), at, time.Hour, 3)
				if err != nil {
					errs <- err
					return
				}
				if len(ids) == 0 {
					return
				}
				mu.Lock()
				for _, id := range ids {
					seen[id]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Claim: %v", err)
	}
	for id, n := range seen {
		if n > 1 {
			t.Errorf("paper %s was claimed %d times inside one lease", id, n)
		}
	}
	for id := range ours {
		if seen[id] == 0 {
			t.Errorf("paper %s was never claimed", id)
		}
	}
}

// keep is long enough for a real clock's reads in between to see the paper.
const archiveKeep = 500 * time.Millisecond

func doneExpiresAfterKeep(t *testing.T, e *env) {
	at := archiveEpoch.Add(4 * time.Hour)
	before := e.backlog(t)
	p := e.newPaper(t)
	e.apply(t, p.ID, up("n1", "a", "1"))
	e.finalizeAt(t, p.ID, at)
	if !e.claims(t, at, time.Minute, p.ID) {
		t.Fatal("not claimed")
	}
	e.done(t, p.ID, archiveKeep)
	if got := e.backlog(t); got != before {
		t.Fatalf("Backlog %d after Done, want %d", got, before)
	}
	if e.claims(t, at.Add(time.Hour), time.Minute, p.ID) {
		t.Fatal("claimed after Done")
	}
	// Kept for now: sessions still open see the final state.
	doc := e.snapshot(t, p.ID)
	if doc.Paper.Status != domain.StatusFinal || len(doc.Elements) != 1 {
		t.Fatalf("right after Done the paper is %s with %d elements, want final with 1", doc.Paper.Status, len(doc.Elements))
	}
	e.pass(2 * archiveKeep)
	waitGone(t, e, p.ID)
}

// waitGone waits until every read of the paper says ErrNotFound.
func waitGone(t *testing.T, e *env, id string) {
	t.Helper()
	deadline := time.Now().Add(e.waitTimeout())
	for {
		_, err := e.Store.Paper(t.Context(), id)
		if err != nil {
			wantErr(t, "Paper after keep", err, domain.ErrNotFound)
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the paper is still there long after its keep ran out")
		}
		time.Sleep(20 * time.Millisecond)
	}
	_, err := e.Store.Snapshot(t.Context(), id)
	wantErr(t, "Snapshot after keep", err, domain.ErrNotFound)
	if err := e.Store.Delete(t.Context(), id); err == nil {
		t.Fatal("Delete after keep found the paper")
	}
}

func doneTwiceDoesNotExtendTheKeep(t *testing.T, e *env) {
	at := archiveEpoch.Add(5 * time.Hour)
	p := e.newPaper(t)
	e.finalizeAt(t, p.ID, at)
	e.done(t, p.ID, archiveKeep)
	e.done(t, p.ID, time.Hour) // a retry after a lost reply: no change
	e.pass(2 * archiveKeep)
	waitGone(t, e, p.ID)
}

func doneOnAnOpenPaperChangesNothing(t *testing.T, e *env) {
	p := e.newPaper(t)
	e.apply(t, p.ID, up("n1", "a", "1"))
	e.done(t, p.ID, 0)
	e.pass(2 * archiveKeep)
	doc := e.snapshot(t, p.ID)
	if doc.Paper.Status != domain.StatusOpen || len(doc.Elements) != 1 {
		t.Fatalf("Done changed an open paper: %s with %d elements", doc.Paper.Status, len(doc.Elements))
	}
	e.apply(t, p.ID, up("n2", "b", "2"))
}

func deletedPaperLeavesTheQueue(t *testing.T, e *env) {
	at := archiveEpoch.Add(6 * time.Hour)
	before := e.backlog(t)
	p := e.newPaper(t)
	e.finalizeAt(t, p.ID, at)
	if err := e.Store.Delete(t.Context(), p.ID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if got := e.backlog(t); got != before {
		t.Fatalf("Backlog %d after deleting a queued paper, want %d", got, before)
	}
	if e.claims(t, at.Add(time.Hour), time.Minute, p.ID) {
		t.Fatal("a deleted paper was claimed")
	}
	e.done(t, p.ID, time.Hour) // an archiver that had claimed it: harmless
	_, err := e.Store.Paper(t.Context(), p.ID)
	wantErr(t, "Paper after Delete and Done", err, domain.ErrNotFound)
}
