package redis

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/paper"
	"github.com/papercast/papercast/protocol"
)

// Presence lives in three keys per paper (see the package comment): the
// entries, their ready-made leave frames (so whoever expires an entry can
// announce the leave without knowing the session) and their expiries on the
// Redis clock, which all replicas share.

func (s *Store) presenceKeys(paperID string) (keys, []string) {
	k := s.keys(paperID)
	return k, []string{k.pres, k.presLeave, k.presExp}
}

// SetPresence stores p with a fresh TTL and publishes
// protocol.PresenceFrame(event, p) on the paper's channel.
func (s *Store) SetPresence(ctx context.Context, paperID string, p domain.Presence, event string) error {
	if !paper.ValidID(paperID) {
		return fmt.Errorf("presence %q: %w", paperID, domain.ErrNotFound)
	}
	if p.Session == "" {
		return fmt.Errorf("presence %s: %w: no session", paperID, domain.ErrInvalid)
	}
	entry, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("presence %s: %w: %w", paperID, domain.ErrInvalid, err)
	}
	k, ks := s.presenceKeys(paperID)
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	err = s.scripts.presenceSet.Exec(ctx, s.cmd, ks, []string{
		p.Session, string(entry), string(protocol.PresenceFrame(protocol.PresenceLeave, p)), s.ttlMS,
		s.pubCmd, k.channel, string(protocol.PresenceFrame(event, p)),
	}).Error()
	if err != nil {
		return mapErr("set presence", paperID, err)
	}
	return nil
}

// RemovePresence deletes the session's entry and publishes its leave frame
// if it was there.
func (s *Store) RemovePresence(ctx context.Context, paperID string, p domain.Presence) error {
	if !paper.ValidID(paperID) {
		return fmt.Errorf("presence %q: %w", paperID, domain.ErrNotFound)
	}
	k, ks := s.presenceKeys(paperID)
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	if err := s.scripts.presenceRemove.Exec(ctx, s.cmd, ks, []string{p.Session, s.pubCmd, k.channel}).Error(); err != nil {
		return mapErr("remove presence", paperID, err)
	}
	return nil
}

// ListPresence returns the entries that have not expired, by session id.
func (s *Store) ListPresence(ctx context.Context, paperID string) ([]domain.Presence, error) {
	if !paper.ValidID(paperID) {
		return nil, fmt.Errorf("presence %q: %w", paperID, domain.ErrNotFound)
	}
	_, ks := s.presenceKeys(paperID)
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	vals, err := s.scripts.presenceList.Exec(ctx, s.cmd, ks, nil).AsStrSlice()
	if err != nil {
		return nil, mapErr("list presence", paperID, err)
	}
	out := make([]domain.Presence, 0, len(vals))
	for _, v := range vals {
		var p domain.Presence
		if err := json.Unmarshal([]byte(v), &p); err != nil {
			return nil, fmt.Errorf("list presence %s: corrupt entry: %w", paperID, err)
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Session < out[j].Session })
	return out, nil
}

// TouchPresence refreshes the TTL of these sessions' entries (those still
// stored: an entry that expired is gone, and its session must SetPresence
// again), removes the paper's expired entries and publishes a leave for each.
func (s *Store) TouchPresence(ctx context.Context, paperID string, sessions []string) error {
	if !paper.ValidID(paperID) {
		return fmt.Errorf("presence %q: %w", paperID, domain.ErrNotFound)
	}
	k, ks := s.presenceKeys(paperID)
	args := make([]string, 0, 3+len(sessions))
	args = append(args, s.ttlMS, s.pubCmd, k.channel)
	args = append(args, sessions...)
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	if err := s.scripts.presenceTouch.Exec(ctx, s.cmd, ks, args).Error(); err != nil {
		return mapErr("touch presence", paperID, err)
	}
	return nil
}
