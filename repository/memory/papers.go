package memory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/paper"
	"github.com/papercast/papercast/protocol"
	"github.com/papercast/papercast/usecase"
)

// paperState is one paper's data. Every field is guarded by mu.
type paperState struct {
	mu   sync.Mutex
	gone bool // deleted: a holder of this pointer must treat the paper as unknown
	meta domain.Paper

	// Elements by id, and a doubly linked list of them in creation order so
	// that delete is O(1) and a re-created element goes to the end.
	elems      map[string]*element
	head, tail *element

	hist  history
	order sessionOrder
	bans  map[string]struct{} // banned users

	touched time.Time // last op, join or create: an open paper idle for openIdle is dropped

	// archived: the archive has the paper (ArchiveQueue.Done); it expires
	// at expireAt. archivedHint mirrors archived for sweepExpired, which
	// reads it without the lock.
	archived     bool
	expireAt     time.Time
	archivedHint atomic.Bool
}

type element struct {
	id      string
	by      domain.ElementAuthor
	created time.Time
	fields  map[string]json.RawMessage // values are never modified in place
	prev    *element
	next    *element
}

func (p *paperState) push(el *element) {
	el.prev = p.tail
	if p.tail != nil {
		p.tail.next = el
	} else {
		p.head = el
	}
	p.tail = el
	p.elems[el.id] = el
}

func (p *paperState) unlink(el *element) {
	if el.prev != nil {
		el.prev.next = el.next
	} else {
		p.head = el.next
	}
	if el.next != nil {
		el.next.prev = el.prev
	} else {
		p.tail = el.prev
	}
	el.prev, el.next = nil, nil
	delete(p.elems, el.id)
}

func notFound(id string) error { return fmt.Errorf("paper %s: %w", id, domain.ErrNotFound) }

// lookup returns a paper's state, locked. The caller unlocks it.
func (s *Store) lookup(id string) (*paperState, error) {
	if err := s.unavailable(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	p := s.papers[id]
	s.mu.RUnlock()
	if p == nil {
		return nil, notFound(id)
	}
	p.mu.Lock()
	if !p.gone && p.archived && s.expired(p) {
		s.expire(id, p)
	}
	if p.gone {
		p.mu.Unlock()
		return nil, notFound(id)
	}
	if p.meta.Status == domain.StatusOpen && s.now().Sub(p.touched) >= s.openIdle {
		// Retention: like the Redis keys' expiry, silently (no frame).
		p.gone = true
		p.elems, p.head, p.tail, p.hist, p.bans = nil, nil, nil, history{}, nil
		p.mu.Unlock()
		s.mu.Lock()
		if s.papers[id] == p {
			delete(s.papers, id)
		}
		s.mu.Unlock()
		s.dropRoom(id)
		return nil, notFound(id)
	}
	return p, nil
}

// sweep drops the open papers idle past openIdle that nobody looked up
// since, at most every openIdle/8, so the store does not grow with
// abandoned papers. Create calls it.
func (s *Store) sweep() {
	now := s.now()
	s.mu.Lock()
	if now.Sub(s.lastSweep) < s.openIdle/8 {
		s.mu.Unlock()
		return
	}
	s.lastSweep = now
	ids := make([]string, 0, len(s.papers))
	for id := range s.papers {
		ids = append(ids, id)
	}
	s.mu.Unlock()
	for _, id := range ids {
		if p, err := s.lookup(id); err == nil {
			p.mu.Unlock()
		}
	}
}

// Touch restarts an open paper's idle clock (a join); ops do it themselves.
func (s *Store) Touch(_ context.Context, id string) error {
	p, err := s.lookup(id)
	if err != nil {
		return err
	}
	defer p.mu.Unlock()
	p.touched = s.now()
	return nil
}

// copyPaper returns metadata the caller may keep and modify.
func copyPaper(m domain.Paper) domain.Paper {
	m.OwnerKeyHash = append([]byte(nil), m.OwnerKeyHash...)
	if m.FinalizedAt != nil {
		t := *m.FinalizedAt
		m.FinalizedAt = &t
	}
	return m
}

// Create stores a new paper with Seq 0 and a fresh epoch.
func (s *Store) Create(_ context.Context, p domain.Paper) (domain.Paper, error) {
	if err := s.unavailable(); err != nil {
		return domain.Paper{}, err
	}
	if p.ID == "" {
		return domain.Paper{}, fmt.Errorf("%w: paper id is empty", domain.ErrInvalid)
	}
	meta := copyPaper(p)
	meta.Seq = 0
	meta.Epoch = usecase.NewEpoch()
	if meta.Status == "" {
		meta.Status = domain.StatusOpen
	}
	if meta.Edit == "" {
		meta.Edit = domain.EditAuthors
	}
	st := &paperState{meta: meta, elems: make(map[string]*element), hist: history{size: s.historySize}, touched: s.now()}
	s.sweep() // also drops this id's paper if it expired
	if old, err := s.lookup(p.ID); err == nil {
		old.mu.Unlock()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.papers[p.ID]; ok {
		return domain.Paper{}, fmt.Errorf("paper %s: %w: it exists", p.ID, domain.ErrConflict)
	}
	s.papers[p.ID] = st
	return copyPaper(meta), nil
}

// Paper returns a paper's metadata.
func (s *Store) Paper(_ context.Context, id string) (domain.Paper, error) {
	p, err := s.lookup(id)
	if err != nil {
		return domain.Paper{}, err
	}
	defer p.mu.Unlock()
	return copyPaper(p.meta), nil
}

// Snapshot returns the paper and its elements, in creation order, as of its
// seq. The element maps are copies; their values share bytes with the store
// and must not be modified.
func (s *Store) Snapshot(_ context.Context, id string) (domain.Document, error) {
	p, err := s.lookup(id)
	if err != nil {
		return domain.Document{}, err
	}
	defer p.mu.Unlock()
	doc := domain.Document{Paper: copyPaper(p.meta), Elements: make([]domain.Element, 0, len(p.elems))}
	for el := p.head; el != nil; el = el.next {
		doc.Elements = append(doc.Elements, domain.Element{ID: el.id, By: el.by, CreatedAt: el.created, Fields: maps.Clone(el.fields)})
	}
	return doc, nil
}

// Apply applies a validated op, records and publishes its frame, and
// returns its seq. A rejected op changes nothing and takes no seq. The ban
// and permission checks run under the paper's lock, like SetEdit and Ban:
// no policy change or ban can fall between the check and the apply.
func (s *Store) Apply(_ context.Context, id string, op domain.Op, body []byte, order usecase.OpOrder, ed usecase.Editor) (uint64, error) {
	p, err := s.lookup(id)
	if err != nil {
		return 0, err
	}
	defer p.mu.Unlock()
	if p.meta.Status == domain.StatusFinal {
		return 0, fmt.Errorf("paper %s: %w", id, domain.ErrFinalized)
	}
	if p.order.stale(order) {
		return 0, fmt.Errorf("paper %s: op %d of session %s: %w", id, order.N, order.Session, usecase.ErrStaleOp)
	}
	if _, banned := p.bans[ed.User]; banned {
		return 0, fmt.Errorf("paper %s, user %q: %w", id, ed.User, domain.ErrBanned)
	}
	el := p.elems[op.ID]
	if el != nil && !mayChange(p.meta.Edit, el.by, ed) {
		return 0, fmt.Errorf("element %s of paper %s is %q's: %w", op.ID, id, el.by.User, domain.ErrForbidden)
	}
	switch op.Kind {
	case domain.OpDelete:
		if el == nil {
			return 0, fmt.Errorf("element %s of paper %s: %w", op.ID, id, domain.ErrNotFound)
		}
		p.unlink(el)
	case domain.OpUpsert:
		var existing map[string]json.RawMessage
		if el != nil {
			existing = el.fields
		}
		if err := s.limits.CheckMerge(existing, op.Fields, len(p.elems)); err != nil {
			return 0, fmt.Errorf("element %s of paper %s: %w", op.ID, id, err)
		}
		if el == nil {
			el = &element{id: op.ID, by: domain.ElementAuthor{User: ed.User, Name: ed.Name}, created: stamp(ed.At)}
			p.push(el)
		}
		el.fields = paper.Merge(existing, op.Fields)
	default:
		return 0, fmt.Errorf("%w: unknown op %q", domain.ErrInvalid, op.Kind)
	}
	p.order.applied(order, s.now())
	p.touched = s.now()
	return s.record(id, p, domain.EventOp, func(seq uint64) []byte { return protocol.OpFrame(seq, body) }), nil
}

// mayChange is the edit policy: who may change or delete an element that
// exists.
func mayChange(edit string, author domain.ElementAuthor, ed usecase.Editor) bool {
	return edit == domain.EditOpen || ed.Owner || author.User == ed.User
}

// stamp is a creation time as stored: whole seconds, UTC (the Redis store
// keeps unix seconds).
func stamp(at time.Time) time.Time { return time.Unix(at.Unix(), 0).UTC() }

// record takes the paper's next seq, appends the event to its history and
// publishes it. The caller holds p.mu, which is what makes the three one step.
func (s *Store) record(id string, p *paperState, kind string, frame func(seq uint64) []byte) uint64 {
	p.meta.Seq++
	ev := domain.Event{Kind: kind, Seq: p.meta.Seq, Frame: frame(p.meta.Seq)}
	p.hist.push(ev)
	s.publish(id, ev.Frame)
	return ev.Seq
}

// Finalize marks an open paper final; it takes the next seq.
func (s *Store) Finalize(_ context.Context, id string, at time.Time) (domain.Paper, error) {
	p, err := s.lookup(id)
	if err != nil {
		return domain.Paper{}, err
	}
	defer p.mu.Unlock()
	if p.meta.Status == domain.StatusFinal {
		return domain.Paper{}, fmt.Errorf("paper %s: %w: already final", id, domain.ErrConflict)
	}
	p.meta.Status = domain.StatusFinal
	p.meta.FinalizedAt = &at
	s.record(id, p, domain.EventFinalized, protocol.FinalizedFrame)
	// A final paper keeps no resume history (a resume from before its final
	// seq gets the snapshot), as the Redis store drops its list.
	p.hist = history{size: s.historySize}
	s.queueForArchive(id, at)
	return copyPaper(p.meta), nil
}

// SetEdit sets the paper's edit policy; a change takes the next seq.
func (s *Store) SetEdit(_ context.Context, id, edit string) (domain.Paper, error) {
	p, err := s.lookup(id)
	if err != nil {
		return domain.Paper{}, err
	}
	defer p.mu.Unlock()
	if p.meta.Status == domain.StatusFinal {
		return domain.Paper{}, fmt.Errorf("paper %s: %w", id, domain.ErrFinalized)
	}
	if p.meta.Edit != edit {
		p.meta.Edit = edit
		s.record(id, p, domain.EventPolicy, func(seq uint64) []byte { return protocol.PolicyFrame(seq, edit) })
	}
	return copyPaper(p.meta), nil
}

// RenewEpoch gives the paper a fresh epoch if it is still ifEpoch.
func (s *Store) RenewEpoch(_ context.Context, id, ifEpoch string) (string, error) {
	p, err := s.lookup(id)
	if err != nil {
		return "", err
	}
	defer p.mu.Unlock()
	if p.meta.Epoch != ifEpoch {
		return p.meta.Epoch, nil
	}
	p.meta.Epoch = usecase.NewEpoch()
	s.publish(id, protocol.EpochFrame(p.meta.Epoch))
	return p.meta.Epoch, nil
}

// Ban adds user to the paper's bans and publishes protocol.BanFrame.
func (s *Store) Ban(_ context.Context, id, user string) error {
	p, err := s.lookup(id)
	if err != nil {
		return err
	}
	defer p.mu.Unlock()
	if p.bans == nil {
		p.bans = make(map[string]struct{})
	}
	p.bans[user] = struct{}{}
	s.publish(id, protocol.BanFrame(user))
	return nil
}

// Unban lifts a ban.
func (s *Store) Unban(_ context.Context, id, user string) error {
	p, err := s.lookup(id)
	if err != nil {
		return err
	}
	defer p.mu.Unlock()
	delete(p.bans, user)
	return nil
}

// Banned reports whether user is banned from the paper.
func (s *Store) Banned(_ context.Context, id, user string) (bool, error) {
	var banned bool
	err := s.withBans(id, func(bans map[string]struct{}) { _, banned = bans[user] })
	return banned, err
}

// Bans lists the paper's banned users.
func (s *Store) Bans(_ context.Context, id string) ([]string, error) {
	var list []string
	err := s.withBans(id, func(bans map[string]struct{}) { list = slices.Collect(maps.Keys(bans)) })
	return list, err
}

// withBans calls fn with the paper's bans under its lock; an unknown paper
// has none.
func (s *Store) withBans(id string, fn func(map[string]struct{})) error {
	p, err := s.lookup(id)
	if errors.Is(err, domain.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	defer p.mu.Unlock()
	fn(p.bans)
	return nil
}

// Delete removes the paper, its history and its presence entries, and
// publishes protocol.DeletedFrame. Subscriptions to the paper's id stay: they
// belong to the channel, not to the data.
func (s *Store) Delete(_ context.Context, id string) error {
	p, err := s.lookup(id)
	if err != nil {
		return err
	}
	defer p.mu.Unlock()
	p.gone = true
	p.elems, p.head, p.tail, p.hist, p.bans = nil, nil, nil, history{}, nil
	s.mu.Lock()
	delete(s.papers, id)
	s.mu.Unlock()
	s.dropFromArchiveQueue(id)
	s.dropRoom(id)
	s.publish(id, protocol.DeletedFrame())
	return nil
}

// History returns the event frames with seq in (since, current].
func (s *Store) History(_ context.Context, id, epoch string, since uint64) ([]domain.Event, uint64, error) {
	p, err := s.lookup(id)
	if err != nil {
		return nil, 0, err
	}
	defer p.mu.Unlock()
	cur := p.meta.Seq
	switch {
	case epoch != p.meta.Epoch:
		return nil, cur, fmt.Errorf("paper %s epoch %q: %w", id, epoch, usecase.ErrHistoryGone)
	case since > cur:
		return nil, cur, fmt.Errorf("%w: since %d is ahead of paper %s at seq %d", domain.ErrInvalid, since, id, cur)
	}
	evs, ok := p.hist.since(since, cur)
	if !ok {
		return nil, cur, fmt.Errorf("paper %s since %d: %w", id, since, usecase.ErrHistoryGone)
	}
	return evs, cur, nil
}
