package memory

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/protocol"
	"github.com/papercast/papercast/usecase"
)

// room is one paper's presence entries. It exists only while it has entries
// (no empty room is left behind); dead marks a room already removed from
// Store.rooms, which a caller that raced with the removal must not use.
type room struct {
	mu      sync.Mutex
	dead    bool
	entries map[string]presenceEntry // by session
}

type presenceEntry struct {
	p       domain.Presence
	expires time.Time
}

func (e presenceEntry) live(now time.Time) bool { return now.Before(e.expires) }

// withRoom runs fn on the paper's room under its lock, creating the room if
// create is set (otherwise fn is not called when there is none), and removes
// the room afterwards if fn left it empty.
func (s *Store) withRoom(paperID string, create bool, fn func(r *room)) error {
	if err := s.unavailable(); err != nil {
		return err
	}
	for {
		s.presMu.Lock()
		r := s.rooms[paperID]
		if r == nil {
			if !create {
				s.presMu.Unlock()
				return nil
			}
			r = &room{entries: make(map[string]presenceEntry)}
			s.rooms[paperID] = r
		}
		s.presMu.Unlock()

		r.mu.Lock()
		if r.dead { // removed between the two locks: look again
			r.mu.Unlock()
			continue
		}
		fn(r)
		if len(r.entries) == 0 {
			r.dead = true
			s.presMu.Lock()
			delete(s.rooms, paperID)
			s.presMu.Unlock()
		}
		r.mu.Unlock()
		return nil
	}
}

// dropRoom removes a paper's presence entries without publishing (Delete).
func (s *Store) dropRoom(paperID string) {
	s.presMu.Lock()
	r := s.rooms[paperID]
	delete(s.rooms, paperID)
	s.presMu.Unlock()
	if r != nil {
		r.mu.Lock()
		r.dead = true
		r.entries = nil
		r.mu.Unlock()
	}
}

// SetPresence stores p with a fresh TTL and publishes the presence event.
func (s *Store) SetPresence(_ context.Context, paperID string, p domain.Presence, event string) error {
	p.State = append([]byte(nil), p.State...) // the caller may reuse its buffer
	return s.withRoom(paperID, true, func(r *room) {
		r.entries[p.Session] = presenceEntry{p: p, expires: s.now().Add(s.ttl)}
		s.publish(paperID, protocol.PresenceFrame(event, p))
	})
}

// RemovePresence deletes the session's entry and publishes a leave if it
// was there.
func (s *Store) RemovePresence(_ context.Context, paperID string, p domain.Presence) error {
	return s.withRoom(paperID, false, func(r *room) {
		e, ok := r.entries[p.Session]
		if !ok {
			return
		}
		delete(r.entries, p.Session)
		s.publish(paperID, protocol.PresenceFrame(protocol.PresenceLeave, e.p))
	})
}

// ListPresence returns the live entries ordered by session id. Expired
// entries are left for TouchPresence to remove, since removing one means
// publishing its leave.
func (s *Store) ListPresence(_ context.Context, paperID string) ([]domain.Presence, error) {
	out := []domain.Presence{}
	err := s.withRoom(paperID, false, func(r *room) {
		now := s.now()
		for _, e := range r.entries {
			if e.live(now) {
				out = append(out, e.p)
			}
		}
	})
	slices.SortFunc(out, func(a, b domain.Presence) int { return strings.Compare(a.Session, b.Session) })
	return out, err
}

// TouchPresence touches each paper in turn (in process, a batch is a loop).
func (s *Store) TouchPresence(_ context.Context, touches []usecase.PresenceTouch) []usecase.TouchResult {
	out := make([]usecase.TouchResult, len(touches))
	for i, t := range touches {
		out[i].Missing, out[i].Err = s.touchPaper(t.PaperID, t.Sessions)
	}
	return out
}

// touchPaper removes the paper's expired entries, publishing a leave for
// each (in session order), then gives the named sessions' live entries a
// fresh TTL and returns the named sessions that have none. An entry that
// has already expired is not revived: its leave has been, or is being,
// published.
func (s *Store) touchPaper(paperID string, sessions []string) (missing []string, err error) {
	found := false
	err = s.withRoom(paperID, false, func(r *room) {
		found = true
		now := s.now()
		var expired []domain.Presence
		for id, e := range r.entries {
			if !e.live(now) {
				expired = append(expired, e.p)
				delete(r.entries, id)
			}
		}
		slices.SortFunc(expired, func(a, b domain.Presence) int { return strings.Compare(a.Session, b.Session) })
		for _, p := range expired {
			s.publish(paperID, protocol.PresenceFrame(protocol.PresenceLeave, p))
		}
		for _, id := range sessions {
			if e, ok := r.entries[id]; ok {
				e.expires = now.Add(s.ttl)
				r.entries[id] = e
			} else {
				missing = append(missing, id)
			}
		}
	})
	if err != nil {
		return nil, err
	}
	if !found { // no entry at all
		return slices.Clone(sessions), nil
	}
	return missing, nil
}
