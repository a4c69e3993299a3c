package redis

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/redis/rueidis"

	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/paper"
	"github.com/papercast/papercast/protocol"
	"github.com/papercast/papercast/usecase"
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

// TouchPresence runs presence_touch.lua once per paper, all papers'
// scripts pipelined together (rueidis ExecMulti: one DoMulti, split per node
// in a cluster, as each paper's keys live in their own slot).
func (s *Store) TouchPresence(ctx context.Context, touches []usecase.PresenceTouch) []usecase.TouchResult {
	out := make([]usecase.TouchResult, len(touches))
	execs := make([]rueidis.LuaExec, 0, len(touches))
	sent := make([]int, 0, len(touches)) // execs[j] is touches[sent[j]]
	for i, t := range touches {
		if !paper.ValidID(t.PaperID) {
			out[i].Err = fmt.Errorf("presence %q: %w", t.PaperID, domain.ErrNotFound)
			continue
		}
		k, ks := s.presenceKeys(t.PaperID)
		args := make([]string, 0, 3+len(t.Sessions))
		args = append(args, s.ttlMS, s.pubCmd, k.channel)
		args = append(args, t.Sessions...)
		execs = append(execs, rueidis.LuaExec{Keys: ks, Args: args})
		sent = append(sent, i)
	}
	if len(execs) == 0 {
		return out
	}
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	for j, res := range s.scripts.presenceTouch.ExecMulti(ctx, s.cmd, execs...) {
		t := touches[sent[j]]
		missing, err := res.AsStrSlice()
		if err != nil {
			out[sent[j]].Err = mapErr("touch presence", t.PaperID, err)
			continue
		}
		out[sent[j]].Missing = missing
	}
	return out
}
