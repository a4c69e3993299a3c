package memory

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/usecase"
)

var _ usecase.ArchiveQueue = (*Store)(nil)

// archiveQueue is the to-archive set: paper id -> when it is next due
// (its finalization, or the end of its current lease). Guarded by
// Store.archMu, a leaf lock: taken under a paper's lock, never the other
// way round.
type archiveQueue map[string]time.Time

// queueForArchive records a paper just finalized. The caller holds p.mu:
// the status change and the record are one step.
func (s *Store) queueForArchive(id string, due time.Time) {
	s.archMu.Lock()
	s.toArchive[id] = due
	s.archMu.Unlock()
}

func (s *Store) dropFromArchiveQueue(id string) {
	s.archMu.Lock()
	delete(s.toArchive, id)
	s.archMu.Unlock()
}

// Claim leases up to n papers due at now, oldest first.
func (s *Store) Claim(_ context.Context, now time.Time, lease time.Duration, n int) ([]string, error) {
	if err := s.unavailable(); err != nil {
		return nil, err
	}
	s.sweepExpired()
	s.archMu.Lock()
	defer s.archMu.Unlock()
	type due struct {
		id string
		at time.Time
	}
	var ready []due
	for id, at := range s.toArchive {
		if !at.After(now) {
			ready = append(ready, due{id, at})
		}
	}
	slices.SortFunc(ready, func(a, b due) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	ids := make([]string, 0, min(n, len(ready)))
	for _, d := range ready[:min(n, len(ready))] {
		s.toArchive[d.id] = now.Add(lease)
		ids = append(ids, d.id)
	}
	return ids, nil
}

// Done marks a final paper archived, drops it from the set and lets it
// expire keep from now (by the store's clock). A paper that is gone or
// not final is only dropped from the set.
func (s *Store) Done(_ context.Context, id string, keep time.Duration) error {
	if err := s.unavailable(); err != nil {
		return err
	}
	p, err := s.lookup(id)
	if err != nil {
		s.dropFromArchiveQueue(id)
		return nil // gone: nothing left to expire
	}
	if p.meta.Status == domain.StatusFinal && !p.archived {
		p.archived = true
		p.archivedHint.Store(true)
		p.expireAt = s.now().Add(keep)
	}
	s.dropFromArchiveQueue(id)
	p.mu.Unlock()
	s.sweepExpired()
	return nil
}

// Backlog counts the papers waiting to be archived.
func (s *Store) Backlog(context.Context) (int, error) {
	if err := s.unavailable(); err != nil {
		return 0, err
	}
	s.archMu.Lock()
	defer s.archMu.Unlock()
	return len(s.toArchive), nil
}

// expired reports whether an archived paper's keep time is over. The
// caller holds p.mu.
func (s *Store) expired(p *paperState) bool {
	return p.archived && !s.now().Before(p.expireAt)
}

// expire drops an archived paper whose keep time is over, as Redis lets
// its keys expire: no frame is published. The caller holds p.mu.
func (s *Store) expire(id string, p *paperState) {
	p.gone = true
	p.elems, p.head, p.tail, p.hist, p.bans = nil, nil, nil, history{}, nil
	s.mu.Lock()
	if s.papers[id] == p {
		delete(s.papers, id)
	}
	s.mu.Unlock()
	s.dropRoom(id)
}

// sweepExpired drops every archived paper whose keep time is over (lookups
// drop them too; this frees the ones nobody asks for). The archiver calls
// Claim every poll, which runs it.
func (s *Store) sweepExpired() {
	s.mu.RLock()
	var archived []string
	for id, p := range s.papers {
		if p.archivedHint.Load() {
			archived = append(archived, id)
		}
	}
	s.mu.RUnlock()
	for _, id := range archived {
		if p, err := s.lookup(id); err == nil {
			p.mu.Unlock() // lookup expired it if its time was up
		}
	}
}
