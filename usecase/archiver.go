package usecase

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/papercast/papercast/domain"
)

// ArchiveQueue is the durable to-archive set (issue 11): a store's Finalize
// records the paper in it in the same atomic step as the status change, so
// a replica killed right after a finalize loses nothing. Any replica's
// Archiver takes work from it with a lease.
type ArchiveQueue interface {
	// Claim leases up to n papers due at now (finalized and not yet
	// archived, or whose previous lease ran out) and returns their ids.
	// Until now+lease no other Claim returns them, so two archivers never
	// work on one paper at once; a claimer that dies simply lets the lease
	// run out and another takes the paper.
	Claim(ctx context.Context, now time.Time, lease time.Duration, n int) ([]string, error)
	// Done says the paper is archived: the store marks it so, drops it
	// from the set and lets all of its data expire after keep (sessions
	// still open see the final state and resumes still work meanwhile).
	// Done on a paper that was deleted, or is not final, only drops it
	// from the set. Calling Done twice is harmless.
	Done(ctx context.Context, id string, keep time.Duration) error
	// Backlog is how many papers wait to be archived.
	Backlog(ctx context.Context) (int, error)
}

// ArchiverOptions tune an Archiver (config archive.*).
type ArchiverOptions struct {
	Poll       time.Duration // how often the set is polled when idle
	Batch      int           // papers claimed per poll
	Lease      time.Duration // how long a claim keeps other archivers off
	Keep       time.Duration // how long Redis keeps an archived paper
	MaxBackoff time.Duration // the longest wait after failures
	Timeout    time.Duration // bound on each store or archive call
}

// DefaultArchiverOptions are the archive.* defaults; config.yaml gives the
// reasons.
func DefaultArchiverOptions() ArchiverOptions {
	return ArchiverOptions{
		Poll: time.Second, Batch: 16, Lease: 30 * time.Second, Keep: 10 * time.Minute,
		MaxBackoff: 30 * time.Second, Timeout: 5 * time.Second,
	}
}

// ArchiverMetrics receives the archiver's figures.
type ArchiverMetrics interface {
	ArchiveBacklog(n int)
	Archived()
	ArchiveFailed()
}

// Archiver moves finalized papers from the store to the archive: it claims
// papers from the queue, writes each one's snapshot to the archive, reads it
// back to compare, and only then tells the queue it is done (which lets the
// store drop the paper's data after Keep). Any number of replicas may run
// one: the queue's lease keeps them off each other's papers, and the
// archive's Put is idempotent for the rare paper two of them write (a lease
// that ran out mid-write).
type Archiver struct {
	store   Store
	queue   ArchiveQueue
	archive Archive
	opts    ArchiverOptions
	metrics ArchiverMetrics
	log     *slog.Logger
	now     func() time.Time
}

// NewArchiver builds an archiver; store must be the store itself (not one
// that falls back to the archive). metrics and log may be nil.
func NewArchiver(store Store, q ArchiveQueue, a Archive, o ArchiverOptions, m ArchiverMetrics, log *slog.Logger) *Archiver {
	d := DefaultArchiverOptions()
	if o.Poll <= 0 {
		o.Poll = d.Poll
	}
	if o.Batch <= 0 {
		o.Batch = d.Batch
	}
	if o.Lease <= 0 {
		o.Lease = d.Lease
	}
	if o.Keep < 0 {
		o.Keep = 0
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = d.MaxBackoff
	}
	if o.Timeout <= 0 {
		o.Timeout = d.Timeout
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Archiver{store: store, queue: q, archive: a, opts: o, metrics: m, log: log, now: time.Now}
}

// Run archives until ctx ends. After a failure it waits twice as long as
// after the previous one (from Poll up to MaxBackoff); a success resets the
// wait. A paper whose archiving failed stays leased until its lease runs
// out, then any archiver retries it.
func (a *Archiver) Run(ctx context.Context) {
	wait := a.opts.Poll
	for {
		n, err := a.RunOnce(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			a.log.Warn("archiving failed; retrying", "error", err, "retry_in", wait)
		}
		next := a.opts.Poll
		if err != nil {
			next, wait = wait, min(2*wait, a.opts.MaxBackoff)
		} else {
			wait = a.opts.Poll
			if n == a.opts.Batch {
				next = 0 // a full batch: there may be more waiting
			}
		}
		t := time.NewTimer(next)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// RunOnce claims one batch and archives it. It returns how many papers it
// claimed and the failures (the papers that failed stay leased).
func (a *Archiver) RunOnce(ctx context.Context) (int, error) {
	defer a.reportBacklog(ctx)
	cctx, cancel := context.WithTimeout(ctx, a.opts.Timeout)
	ids, err := a.queue.Claim(cctx, a.now(), a.opts.Lease, a.opts.Batch)
	cancel()
	if err != nil {
		a.failed()
		return 0, fmt.Errorf("claim papers to archive: %w", err)
	}
	var errs []error
	for _, id := range ids {
		if ctx.Err() != nil {
			break
		}
		if err := a.archiveOne(ctx, id); err != nil {
			a.failed()
			errs = append(errs, err)
			continue
		}
	}
	return len(ids), errors.Join(errs...)
}

func (a *Archiver) failed() {
	if a.metrics != nil {
		a.metrics.ArchiveFailed()
	}
}

func (a *Archiver) reportBacklog(ctx context.Context) {
	if a.metrics == nil || ctx.Err() != nil {
		return
	}
	cctx, cancel := context.WithTimeout(ctx, a.opts.Timeout)
	defer cancel()
	n, err := a.queue.Backlog(cctx)
	if err != nil {
		return
	}
	a.metrics.ArchiveBacklog(n)
}

// call runs one store or archive call bounded by Timeout.
func (a *Archiver) call(ctx context.Context, f func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, a.opts.Timeout)
	defer cancel()
	return f(ctx)
}

// archiveOne writes one paper to the archive, reads it back, and marks it
// done.
func (a *Archiver) archiveOne(ctx context.Context, id string) error {
	var doc domain.Document
	err := a.call(ctx, func(ctx context.Context) (err error) { doc, err = a.store.Snapshot(ctx, id); return err })
	switch {
	case errors.Is(err, domain.ErrNotFound):
		// Deleted since it was finalized: nothing to archive.
		return a.done(ctx, id)
	case err != nil:
		return fmt.Errorf("archive %s: read it: %w", id, err)
	case doc.Paper.Status != domain.StatusFinal:
		// Queued by a finalize that has not landed (yet): in cluster mode
		// the store queues a paper just before its finalize script, so a
		// replica killed in between leaves it open and queued. Left to its
		// lease: archived once a retried finalize lands; dropped once it is
		// deleted (or expires idle).
		a.log.Debug("queued paper is not final yet; left to its lease", "paper", id)
		return nil
	}
	if err := a.call(ctx, func(ctx context.Context) error { return a.archive.Put(ctx, doc) }); err != nil {
		return fmt.Errorf("archive %s: write it: %w", id, err)
	}
	var back domain.Document
	err = a.call(ctx, func(ctx context.Context) (err error) { back, err = a.archive.Get(ctx, id); return err })
	switch {
	case errors.Is(err, domain.ErrNotFound):
		// Deleted meanwhile (the archive keeps a tombstone, Put stored
		// nothing): the delete removes it from the store too.
		return a.done(ctx, id)
	case err != nil:
		return fmt.Errorf("archive %s: read it back: %w", id, err)
	}
	if diff := DocumentDiff(doc, back); diff != "" {
		return fmt.Errorf("archive %s: the archive holds something else than the store: %s", id, diff)
	}
	if err := a.done(ctx, id); err != nil {
		return err
	}
	if a.metrics != nil {
		a.metrics.Archived()
	}
	a.log.Debug("paper archived", "paper", id, "seq", doc.Paper.Seq)
	return nil
}

func (a *Archiver) done(ctx context.Context, id string) error {
	if err := a.call(ctx, func(ctx context.Context) error { return a.queue.Done(ctx, id, a.opts.Keep) }); err != nil {
		return fmt.Errorf("archive %s: release it from the store: %w", id, err)
	}
	return nil
}

// DocumentDiff names the first difference between two documents, "" when
// they are the same: every field a client sees (times to the second, as
// every store keeps them), the owner key hash, each element's author and
// creation time and each field value byte for byte.
func DocumentDiff(want, got domain.Document) string {
	p, q := want.Paper, got.Paper
	switch {
	case p.ID != q.ID:
		return fmt.Sprintf("id %q, not %q", q.ID, p.ID)
	case p.Title != q.Title || p.To != q.To:
		return "title or recipient"
	case p.Status != q.Status:
		return fmt.Sprintf("status %q, not %q", q.Status, p.Status)
	case p.Seq != q.Seq || p.Epoch != q.Epoch:
		return fmt.Sprintf("version %s-%d, not %s-%d", q.Epoch, q.Seq, p.Epoch, p.Seq)
	case p.CreatedAt.Unix() != q.CreatedAt.Unix():
		return "creation time"
	case (p.FinalizedAt == nil) != (q.FinalizedAt == nil) || p.FinalizedAt != nil && p.FinalizedAt.Unix() != q.FinalizedAt.Unix():
		return "finalization time"
	case p.Edit != q.Edit:
		return "edit policy"
	case !bytes.Equal(p.OwnerKeyHash, q.OwnerKeyHash):
		return "owner key hash"
	case len(want.Elements) != len(got.Elements):
		return fmt.Sprintf("%d elements, not %d", len(got.Elements), len(want.Elements))
	}
	for i, e := range want.Elements {
		f := got.Elements[i]
		if e.ID != f.ID || e.By != f.By || e.CreatedAt.Unix() != f.CreatedAt.Unix() || len(e.Fields) != len(f.Fields) {
			return fmt.Sprintf("element %d (%s)", i, e.ID)
		}
		for name, v := range e.Fields {
			if !bytes.Equal(v, f.Fields[name]) {
				return fmt.Sprintf("element %s field %s", e.ID, name)
			}
		}
	}
	return ""
}
