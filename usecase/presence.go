package usecase

import (
	"context"
	"time"
)

// heartbeatBatch bounds the papers of one TouchPresence call, so one batch
// never holds a store connection for long.
const heartbeatBatch = 500

// heartbeat keeps this replica's presence entries alive and has the store
// expire those of replicas that died without saying goodbye (every room is
// touched, the empty ones too, for that). Papers are touched in batches, a
// store call per heartbeatBatch papers instead of round trips per paper, so
// thousands of rooms are done well within the presence TTL. A live session
// whose entry is gone (purged by another replica's sweep after this one was
// frozen past the TTL, or lost with the store's data) is stored again.
func (h *Hub) heartbeat() {
	rooms := h.roomList()
	for len(rooms) > 0 {
		n := min(len(rooms), heartbeatBatch)
		h.touchRooms(rooms[:n])
		rooms = rooms[n:]
	}
}

// touchRooms is one batch of the heartbeat.
func (h *Hub) touchRooms(rooms []*room) {
	touches := make([]PresenceTouch, len(rooms))
	for i, r := range rooms {
		touches[i] = PresenceTouch{PaperID: r.id, Sessions: r.liveSessions()}
	}
	ctx, cancel := context.WithTimeout(context.Background(), h.opts.StoreTimeout)
	results := h.presence.TouchPresence(ctx, touches)
	cancel()
	if len(results) != len(touches) {
		h.log.Error("presence heartbeat: store answered for the wrong number of papers", "papers", len(touches), "results", len(results))
		return
	}
	failed := 0
	for i, res := range results {
		if res.Err != nil {
			if failed == 0 {
				h.log.Warn("presence heartbeat failed", "paper", rooms[i].id, "err", res.Err)
			}
			failed++
			continue
		}
		for _, session := range res.Missing {
			if m := rooms[i].liveMember(session); m != nil {
				h.restorePresence(m)
			}
		}
	}
	if failed > 1 {
		h.log.Warn("presence heartbeat failed on more papers", "papers", failed)
	}
}

// restorePresence stores a live session's presence again.
func (h *Hub) restorePresence(m *Member) {
	ctx, cancel := context.WithTimeout(context.Background(), h.opts.StoreTimeout)
	defer cancel()
	if err := m.writePresence(ctx, nil); err != nil {
		h.log.Warn("presence restore failed", "paper", m.room.id, "err", err)
	}
}

// queueFlush puts a room with queued presence on the next flush's list.
// The room's flushQueued flag (under r.mu) keeps it there once. Lock order:
// room.mu, then hub.flushMu.
func (h *Hub) queueFlush(r *room) {
	h.flushMu.Lock()
	h.flushQ = append(h.flushQ, r)
	h.flushMu.Unlock()
}

// flushQueued is one flush tick: it passes on the presence of the rooms
// that queued some, so its cost follows the busy rooms, not all rooms.
func (h *Hub) flushQueued(interval time.Duration) {
	h.flushMu.Lock()
	rooms := h.flushQ
	h.flushQ = nil
	h.flushMu.Unlock()
	for _, r := range rooms {
		r.flushPresence(interval)
	}
}

// liveSessions lists the room's live sessions.
func (r *room) liveSessions() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	sessions := make([]string, 0, len(r.members))
	for _, m := range r.members {
		if m.live {
			sessions = append(sessions, m.author.Session)
		}
	}
	return sessions
}

// liveMember finds a live member by session id.
func (r *room) liveMember(session string) *Member {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range r.members {
		if m.live && m.author.Session == session {
			return m
		}
	}
	return nil
}
