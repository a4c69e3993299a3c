package usecase_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/paper"
	"github.com/papercast/papercast/protocol"
	"github.com/papercast/papercast/repository/memory"
	"github.com/papercast/papercast/usecase"
)

// fakeArchive is an in-memory usecase.Archive with switchable failures.
type fakeArchive struct {
	mu      sync.Mutex
	docs    map[string]domain.Document
	gone    map[string]bool
	puts    int
	down    bool
	corrupt bool // Get returns a changed title
}

func newFakeArchive() *fakeArchive {
	return &fakeArchive{docs: map[string]domain.Document{}, gone: map[string]bool{}}
}

var errArchiveDown = fmt.Errorf("fake archive: %w", domain.ErrUnavailable)

func (a *fakeArchive) Put(_ context.Context, doc domain.Document) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.down {
		return errArchiveDown
	}
	a.puts++
	if _, ok := a.docs[doc.Paper.ID]; !ok && !a.gone[doc.Paper.ID] {
		a.docs[doc.Paper.ID] = doc
	}
	return nil
}

func (a *fakeArchive) Get(_ context.Context, id string) (domain.Document, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.down {
		return domain.Document{}, errArchiveDown
	}
	doc, ok := a.docs[id]
	if !ok {
		return domain.Document{}, fmt.Errorf("archive %s: %w", id, domain.ErrNotFound)
	}
	if a.corrupt {
		doc.Paper.Title += "!"
	}
	return doc, nil
}

func (a *fakeArchive) Delete(_ context.Context, id string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.down {
		return errArchiveDown
	}
	delete(a.docs, id)
	a.gone[id] = true
	return nil
}

func (a *fakeArchive) Ping(context.Context) error { return nil }
func (a *fakeArchive) Close() error               { return nil }

func (a *fakeArchive) set(f func(a *fakeArchive)) {
	a.mu.Lock()
	f(a)
	a.mu.Unlock()
}

// countingMetrics records the archiver's figures.
type countingMetrics struct {
	mu                      sync.Mutex
	backlog, done, failures int
}

func (m *countingMetrics) ArchiveBacklog(n int) { m.mu.Lock(); m.backlog = n; m.mu.Unlock() }
func (m *countingMetrics) Archived()            { m.mu.Lock(); m.done++; m.mu.Unlock() }
func (m *countingMetrics) ArchiveFailed()       { m.mu.Lock(); m.failures++; m.mu.Unlock() }

func (m *countingMetrics) get() (backlog, done, failures int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.backlog, m.done, m.failures
}

// archiveEnv is a memory store with a settable clock, an archive, the
// services reading through the archive and an archiver.
type archiveEnv struct {
	clk     *testClock
	store   *memory.Store
	archive *fakeArchive
	papers  *usecase.Papers
	hub     *usecase.Hub
	arch    *usecase.Archiver
	metrics *countingMetrics
}

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

const (
	testKeep  = 10 * time.Minute
	testLease = 30 * time.Second
)

func newArchiveEnv(t *testing.T) *archiveEnv {
	t.Helper()
	clk := &testClock{t: time.Now().Truncate(time.Second)}
	st := memory.New(memory.Options{Now: clk.Now})
	a := newFakeArchive()
	backed := usecase.ArchiveBacked(st, a)
	e := &archiveEnv{clk: clk, store: st, archive: a, metrics: &countingMetrics{}}
	e.papers = usecase.NewPapers(backed, st, paper.DefaultLimits())
	e.papers.SetArchive(a)
	e.hub = usecase.NewHub(backed, st, st, paper.DefaultLimits(), usecase.HubOptions{}, nil, quiet)
	e.arch = usecase.NewArchiver(st, st, a, usecase.ArchiverOptions{Keep: testKeep, Lease: testLease, Batch: 4}, e.metrics, quiet)
	e.arch.SetNow(clk.Now)
	t.Cleanup(func() {
		e.hub.Close()
		st.Close()
	})
	return e
}

// finalPaper creates a paper with one note, finalizes it and returns the
// final document and the owner key.
func (e *archiveEnv) finalPaper(t *testing.T) (domain.Document, string) {
	t.Helper()
	ctx := t.Context()
	p, key, err := e.papers.Create(ctx, "Happy birthday", "Ada", "")
	if err != nil {
		t.Fatal(err)
	}
	body := protocol.OpBody(upsert("n1", "text", "hi <3"), domain.Author{User: "u1", Name: "Bo"})
	if _, err := e.store.Apply(ctx, p.ID, upsert("n1", "text", "hi <3"), body, usecase.OpOrder{}, usecase.Editor{User: "u1", Name: "Bo", At: e.clk.Now()}); err != nil {
		t.Fatal(err)
	}
	doc, err := e.papers.Finalize(ctx, p.ID, key)
	if err != nil {
		t.Fatal(err)
	}
	return doc, key
}

func (e *archiveEnv) runOnce(t *testing.T, wantN int, wantErr bool) {
	t.Helper()
	n, err := e.arch.RunOnce(t.Context())
	if n != wantN || (err != nil) != wantErr {
		t.Fatalf("RunOnce = %d, %v; want %d papers, error %v", n, err, wantN, wantErr)
	}
}

func TestArchiverMovesAFinalPaperAndReadsComeFromTheArchive(t *testing.T) {
	e := newArchiveEnv(t)
	doc, _ := e.finalPaper(t)
	id := doc.Paper.ID
	e.runOnce(t, 1, false)
	got, err := e.archive.Get(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if d := usecase.DocumentDiff(doc, got); d != "" {
		t.Fatalf("archived document differs: %s", d)
	}
	if backlog, done, failures := e.metrics.get(); backlog != 0 || done != 1 || failures != 0 {
		t.Fatalf("metrics backlog %d, archived %d, failures %d; want 0, 1, 0", backlog, done, failures)
	}
	// Kept in the store for keep, then only the archive has it.
	if _, err := e.store.Paper(t.Context(), id); err != nil {
		t.Fatalf("store dropped the paper before keep: %v", err)
	}
	e.clk.Advance(testKeep)
	if _, err := e.store.Paper(t.Context(), id); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("store Paper after keep: %v, want not found", err)
	}
	served, err := e.papers.Document(t.Context(), id)
	if err != nil {
		t.Fatalf("Document of an archived paper: %v", err)
	}
	if d := usecase.DocumentDiff(doc, served); d != "" {
		t.Fatalf("served document differs: %s", d)
	}
	if err := e.papers.Exists(t.Context(), id); err != nil {
		t.Fatalf("Exists of an archived paper: %v", err)
	}
	if _, err := e.hub.Admit(t.Context(), usecase.JoinRequest{PaperID: id, User: "u2"}); err != nil {
		t.Fatalf("Admit of an archived paper: %v", err)
	}
	// A session joining (or resuming) gets the archived snapshot.
	s := newSink()
	join(t, e.hub, usecase.JoinRequest{PaperID: id, User: "u2", Resume: true, Epoch: doc.Paper.Epoch, Since: 1}, s)
	frames, _ := s.snapshot()
	if len(frames) == 0 {
		t.Fatal("no first frame")
	}
	els, seq := replay(t, frames[:1], nil)
	if seq != doc.Paper.Seq || len(els) != 1 {
		t.Fatalf("joined an archived paper at seq %d with %d elements, want %d and 1", seq, len(els), doc.Paper.Seq)
	}
	e.runOnce(t, 0, false) // nothing left to do
}

func TestArchiverKeepsThePaperQueuedWhileTheArchiveIsDown(t *testing.T) {
	e := newArchiveEnv(t)
	doc, _ := e.finalPaper(t)
	e.archive.set(func(a *fakeArchive) { a.down = true })
	e.runOnce(t, 1, true)
	if backlog, done, failures := e.metrics.get(); backlog != 1 || done != 0 || failures != 1 {
		t.Fatalf("metrics backlog %d, archived %d, failures %d; want 1, 0, 1", backlog, done, failures)
	}
	e.archive.set(func(a *fakeArchive) { a.down = false })
	e.runOnce(t, 0, false) // still leased by the failed attempt
	e.clk.Advance(testKeep)
	if _, err := e.store.Paper(t.Context(), doc.Paper.ID); err != nil {
		t.Fatalf("a paper that was never archived expired: %v", err)
	}
	e.runOnce(t, 1, false) // the lease ran out: retried
	if _, err := e.archive.Get(t.Context(), doc.Paper.ID); err != nil {
		t.Fatalf("not archived after the retry: %v", err)
	}
}

func TestArchiverDoesNotReleaseAPaperTheArchiveReadsBackWrong(t *testing.T) {
	e := newArchiveEnv(t)
	doc, _ := e.finalPaper(t)
	e.archive.set(func(a *fakeArchive) { a.corrupt = true })
	e.runOnce(t, 1, true)
	e.clk.Advance(testKeep + testLease)
	if _, err := e.store.Paper(t.Context(), doc.Paper.ID); err != nil {
		t.Fatalf("released after a wrong read-back: %v", err)
	}
	if n, _ := e.store.Backlog(t.Context()); n != 1 {
		t.Fatalf("backlog %d, want 1", n)
	}
}

func TestArchiverDropsAPaperDeletedBeforeItsTurn(t *testing.T) {
	e := newArchiveEnv(t)
	doc, key := e.finalPaper(t)
	if err := e.papers.Delete(t.Context(), doc.Paper.ID, key); err != nil {
		t.Fatal(err)
	}
	e.runOnce(t, 0, false)
	if _, err := e.papers.Document(t.Context(), doc.Paper.ID); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("Document after Delete: %v, want not found", err)
	}
	if e.archive.puts != 0 {
		t.Fatalf("%d puts of a deleted paper", e.archive.puts)
	}
}

func TestDeleteWithTheArchiveDownDeletesNothing(t *testing.T) {
	e := newArchiveEnv(t)
	doc, key := e.finalPaper(t)
	e.archive.set(func(a *fakeArchive) { a.down = true })
	err := e.papers.Delete(t.Context(), doc.Paper.ID, key)
	if !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("Delete with the archive down: %v, want unavailable", err)
	}
	if _, err := e.store.Paper(t.Context(), doc.Paper.ID); err != nil {
		t.Fatalf("the store lost the paper of a failed delete: %v", err)
	}
}

func TestDeleteOfAnArchivedPaperRemovesItFromBoth(t *testing.T) {
	for _, expired := range []bool{false, true} {
		t.Run(fmt.Sprintf("expired=%v", expired), func(t *testing.T) {
			e := newArchiveEnv(t)
			doc, key := e.finalPaper(t)
			e.runOnce(t, 1, false)
			if expired {
				e.clk.Advance(testKeep)
			}
			if err := e.papers.Delete(t.Context(), doc.Paper.ID, "wrong"); !errors.Is(err, domain.ErrForbidden) {
				t.Fatalf("Delete with a wrong key: %v, want forbidden", err)
			}
			if err := e.papers.Delete(t.Context(), doc.Paper.ID, key); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			if _, err := e.archive.Get(t.Context(), doc.Paper.ID); !errors.Is(err, domain.ErrNotFound) {
				t.Fatalf("archive Get after Delete: %v", err)
			}
			if _, err := e.papers.Document(t.Context(), doc.Paper.ID); !errors.Is(err, domain.ErrNotFound) {
				t.Fatalf("Document after Delete: %v", err)
			}
		})
	}
}

func TestArchiverRunStopsWithItsContext(t *testing.T) {
	e := newArchiveEnv(t)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		e.arch.Run(ctx)
		close(done)
	}()
	cancel()
	<-done
}

// preQueued is a queue holding a paper before its finalize landed, as the
// Redis store in cluster mode leaves one when its replica dies between
// queueing the paper and running the finalize script.
type preQueued struct {
	usecase.ArchiveQueue
	mu    sync.Mutex
	extra string
	dones []string
}

func (q *preQueued) Claim(ctx context.Context, now time.Time, lease time.Duration, n int) ([]string, error) {
	ids, err := q.ArchiveQueue.Claim(ctx, now, lease, n)
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.extra != "" {
		ids = append(ids, q.extra)
	}
	return ids, err
}

func (q *preQueued) Done(ctx context.Context, id string, keep time.Duration) error {
	q.mu.Lock()
	q.dones = append(q.dones, id)
	if id == q.extra {
		q.extra = ""
	}
	q.mu.Unlock()
	return q.ArchiveQueue.Done(ctx, id, keep)
}

func TestArchiverLeavesAQueuedPaperThatIsNotFinalYetToItsLease(t *testing.T) {
	e := newArchiveEnv(t)
	p, key, err := e.papers.Create(t.Context(), "Happy birthday", "Ada", "")
	if err != nil {
		t.Fatal(err)
	}
	q := &preQueued{ArchiveQueue: e.store, extra: p.ID}
	arch := usecase.NewArchiver(e.store, q, e.archive, usecase.ArchiverOptions{Keep: testKeep, Lease: testLease}, nil, quiet)
	arch.SetNow(e.clk.Now)
	if n, err := arch.RunOnce(t.Context()); n != 1 || err != nil {
		t.Fatalf("RunOnce = %d, %v", n, err)
	}
	if len(q.dones) != 0 || e.archive.puts != 0 {
		t.Fatalf("an open paper was released (%v) or archived (%d puts)", q.dones, e.archive.puts)
	}
	// The finalize is retried and lands; the paper is archived.
	q.mu.Lock()
	q.extra = ""
	q.mu.Unlock()
	if _, err := e.papers.Finalize(t.Context(), p.ID, key); err != nil {
		t.Fatal(err)
	}
	if n, err := arch.RunOnce(t.Context()); n != 1 || err != nil {
		t.Fatalf("RunOnce after the finalize = %d, %v", n, err)
	}
	if _, err := e.archive.Get(t.Context(), p.ID); err != nil {
		t.Fatalf("not archived: %v", err)
	}
}
