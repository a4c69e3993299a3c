package redis

import (
	"context"
	"strconv"
	"time"

	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/paper"
	"github.com/papercast/papercast/usecase"
)

var _ usecase.ArchiveQueue = (*Store)(nil)

// The to-archive set (issue 11) is one sorted set, <prefix>archive: paper
// id -> when it is next due (unix ms: its finalization, then the end of
// each lease). finalize.lua adds the paper in the same script as the status
// change, so a replica killed right after a finalize leaves the paper
// queued. In cluster mode the set lives in its own slot, which a paper's
// script cannot touch: there the store adds the paper (ZADD NX) just BEFORE
// the finalize script, so a replica killed between the two leaves a queued
// paper that is still open, never a final one that is not queued. The
// archiver leaves an open paper it claims to its lease (usecase.Archiver),
// so it is archived once the finalize is retried and lands.

func (s *Store) archiveKey() string { return s.opts.KeyPrefix + "archive" }

// queueOnFinalize adds the to-archive set to finalize.lua's keys and
// arguments, outside cluster mode: the set as the last key, and "archive",
// the due time and the id as the last arguments, whatever comes before.
func (s *Store) queueOnFinalize(id string, at time.Time, keys, args []string) ([]string, []string) {
	if s.sharded {
		return keys, args
	}
	return append(keys, s.archiveKey()), append(args, "archive", strconv.FormatInt(at.UnixMilli(), 10), id)
}

// queueBeforeFinalize adds a paper about to be finalized to the
// to-archive set in cluster mode (elsewhere finalize.lua does it, in the
// same step). NX: a paper queued already (a finalize retried) keeps its
// lease.
func (s *Store) queueBeforeFinalize(ctx context.Context, id string, at time.Time) error {
	if !s.sharded {
		return nil
	}
	err := s.cmd.Do(ctx, s.cmd.B().Zadd().Key(s.archiveKey()).Nx().ScoreMember().ScoreMember(float64(at.UnixMilli()), id).Build()).Error()
	if err != nil {
		return mapErr("finalize: queue for the archive", id, err)
	}
	return nil
}

// unqueueArchive drops a paper from the to-archive set.
func (s *Store) unqueueArchive(ctx context.Context, id string) error {
	if err := s.cmd.Do(ctx, s.cmd.B().Zrem().Key(s.archiveKey()).Member(id).Build()).Error(); err != nil {
		return mapErr("drop from the archive queue", id, err)
	}
	return nil
}

// Claim leases up to n due papers with archive_claim.lua.
func (s *Store) Claim(ctx context.Context, now time.Time, lease time.Duration, n int) ([]string, error) {
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	ids, err := s.scripts.archiveClaim.Exec(ctx, s.cmd, []string{s.archiveKey()}, []string{
		strconv.FormatInt(now.UnixMilli(), 10), strconv.FormatInt(lease.Milliseconds(), 10), strconv.Itoa(n),
	}).AsStrSlice()
	if err != nil {
		return nil, mapErr("claim", "papers to archive", err)
	}
	return ids, nil
}

// Done marks a final paper archived and lets all of its keys expire after
// keep (archive_done.lua), then drops it from the to-archive set. The
// session order keys (<prefix>{id}:o:<session>) expire by themselves at
// most usecase.OpOrderMemory after the paper's last op; when keep is
// shorter, they are found with SCAN (outside cluster mode) and expire
// with the rest.
func (s *Store) Done(ctx context.Context, id string, keep time.Duration) error {
	if !paper.ValidID(id) {
		return s.unqueueArchive(ctx, id)
	}
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	k := s.keys(id)
	keys := []string{k.meta, k.fields, k.elems, k.hist, k.authors, k.bans, k.pres, k.presLeave, k.presExp}
	if keep < usecase.OpOrderMemory && !s.sharded {
		order, err := s.scanKeys(ctx, k.order+"*")
		if err != nil {
			return mapErr("archived: find order keys", id, err)
		}
		keys = append(keys, order...)
	}
	ms := max(keep.Milliseconds(), 0)
	if err := s.scripts.archiveDone.Exec(ctx, s.cmd, keys, []string{strconv.FormatInt(ms, 10), domain.StatusFinal}).Error(); err != nil {
		return mapErr("archived", id, err)
	}
	return s.unqueueArchive(ctx, id)
}

// scanKeys lists the keys matching pattern (glob characters in a paper id
// cannot occur: paper.ValidID).
func (s *Store) scanKeys(ctx context.Context, pattern string) ([]string, error) {
	var keys []string
	var cursor uint64
	for {
		e, err := s.cmd.Do(ctx, s.cmd.B().Scan().Cursor(cursor).Match(pattern).Count(1000).Build()).AsScanEntry()
		if err != nil {
			return nil, err
		}
		keys = append(keys, e.Elements...)
		if e.Cursor == 0 {
			return keys, nil
		}
		cursor = e.Cursor
	}
}

// Backlog counts the papers waiting to be archived.
func (s *Store) Backlog(ctx context.Context) (int, error) {
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	n, err := s.cmd.Do(ctx, s.cmd.B().Zcard().Key(s.archiveKey()).Build()).AsInt64()
	if err != nil {
		return 0, mapErr("backlog", "of the archive", err)
	}
	return int(n), nil
}
