package usecase

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/protocol"
)

// maxBacklog bounds the events a room holds while it catches up from history.
const maxBacklog = 1 << 14

// deliveredMemory is how many of its last delivered events a room
// remembers (seq and a hash of the frame, 16 bytes each) to notice a store
// that went back and reuses a seq for another event (see room.lost).
const deliveredMemory = 256

// room is one paper's local sessions on this replica. It is the paper's bus
// handler: every event arrives here once and is written to each session's
// sink (the frame is encoded once and shared). It also notices lost events:
// a seq that jumps, or a resubscription, makes it catch up from the store's
// history before it passes on anything newer.
type room struct {
	hub *Hub
	id  string

	// Set by the creator before ready is closed; read-only after.
	ready       chan struct{}
	unsubscribe func()
	subErr      error

	// Guarded by hub.mu.
	refs    int
	closing bool
	done    chan struct{} // closed once unsubscribed and removed

	quit chan struct{} // closed when the room is released: stops recovery
	wg   sync.WaitGroup

	mu      sync.Mutex
	members []*Member
	epoch   string
	lastSeq uint64 // highest seq passed on
	// delivered remembers the last events passed on, by seq: a different
	// frame with one of these seqs means the store lost them (a failover).
	// Allocated with the first event passed on (4 KiB): a room whose paper
	// stays idle never needs it.
	delivered  *[deliveredMemory]deliveredEvent
	seed       maphash.Seed
	recovering bool
	renewing   bool // the epoch is being renewed: events are dropped
	backlog    [][]byte
	// lostUnanchored: a resubscription came while epoch was unknown (before
	// the room's first activation, or after a reset).
	lostUnanchored bool

	// Presence waiting to be passed on (see queuePresence): the latest frame
	// per session, in the order the sessions first queued. flushQueued: the
	// room is on the hub's list for the next flush.
	pending     map[string]pendingPresence
	order       []string
	flushQueued bool
}

type deliveredEvent struct{ seq, hash uint64 }

type pendingPresence struct {
	frame []byte
	join  bool // a join nobody has seen yet
}

func newRoom(h *Hub, id string) *room {
	return &room{hub: h, id: id, ready: make(chan struct{}), done: make(chan struct{}), quit: make(chan struct{}), seed: maphash.MakeSeed()}
}

// Event implements BusHandler.
func (r *room) Event(frame []byte) {
	arrived := time.Now()
	defer r.recoverPanic()
	kind, seq, ok := protocol.EventHeader(frame)
	if !ok {
		r.hub.log.Error("undecodable event on bus", "paper", r.id, "bytes", len(frame))
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if kind == domain.EventBan {
		// Outside the seq order: a ban acts at once, even mid-recovery.
		r.closeBanned(frame)
		return
	}
	if kind == domain.EventEpoch {
		// Another room found the store lost seqs and renewed the epoch.
		if epoch, ok := protocol.EpochOf(frame); ok && r.epoch != "" && epoch != r.epoch {
			r.hub.log.Warn("paper's epoch renewed after a loss: sessions will resume", "paper", r.id)
			r.resetLocked()
		}
		return
	}
	if r.renewing {
		return // every session will resume from the store
	}
	if r.recovering {
		r.hold(frame)
		return
	}
	if seq > 0 && r.epoch != "" && seq <= r.lastSeq && r.differs(seq, frame) {
		// The store reuses a seq this room passed on for another event: it
		// went back (a failover lost writes).
		r.lost("a different event with a seq already passed on")
		return
	}
	if seq > 0 && r.epoch != "" && seq > r.lastSeq+1 {
		// Seqs are contiguous per paper, so the bus lost something.
		r.hold(frame)
		r.startRecovery("seq gap")
		return
	}
	if r.deliver(kind, seq, frame) {
		r.hub.metrics.FanOut(time.Since(arrived))
	}
}

// Resync implements BusHandler: the subscription was re-made, so events may
// have been lost and presence entries with them.
func (r *room) Resync() {
	defer r.recoverPanic()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.startRecovery("resubscribed")
}

func (r *room) recoverPanic() {
	if v := recover(); v != nil {
		r.hub.log.Error("panic in fan-out", "paper", r.id, "panic", v, "stack", string(debug.Stack()))
	}
}

// hold keeps an event until recovery finishes. r.mu is held.
func (r *room) hold(frame []byte) {
	if len(r.backlog) >= maxBacklog {
		// Cannot keep up: give every session a clean restart instead.
		r.resetLocked()
		return
	}
	r.backlog = append(r.backlog, frame)
}

// deliver passes one event (its kind and seq read by the caller) to every
// member, presence possibly later (see queuePresence); now reports which.
// r.mu is held.
func (r *room) deliver(kind string, seq uint64, frame []byte) (now bool) {
	if kind == domain.EventPresence && r.queuePresence(frame) {
		return false
	}
	r.deliverNow(kind, seq, frame)
	return true
}

// queuePresence coalesces presence in busy rooms. Presence fans out to
// every session, so a paper with n people moving cursors costs n² frames;
// past PresenceImmediateBelow sessions the room keeps only each session's
// latest presence frame and passes queued ones on within a per-room budget
// of deliveries per second (flushPresence, on the hub's flush tick). Ops
// are never queued. It reports whether the frame was queued (or made
// moot). r.mu is held.
func (r *room) queuePresence(frame []byte) bool {
	event, session, ok := protocol.PresenceHeader(frame)
	if !ok {
		return false
	}
	if event == protocol.PresenceLeave {
		if p, queued := r.pending[session]; queued {
			delete(r.pending, session)
			// A join nobody saw needs no leave either.
			return p.join
		}
		return false
	}
	if len(r.pending) == 0 && len(r.members) < r.hub.opts.PresenceImmediateBelow {
		return false
	}
	if r.pending == nil {
		r.pending = make(map[string]pendingPresence)
	}
	if p, queued := r.pending[session]; queued {
		// Latest wins; clients treat an update of an unknown session as
		// its join, so a queued join may become an update.
		r.pending[session] = pendingPresence{frame: frame, join: p.join}
		return true
	}
	r.pending[session] = pendingPresence{frame: frame, join: event == protocol.PresenceJoin}
	r.order = append(r.order, session)
	if !r.flushQueued {
		r.flushQueued = true
		r.hub.queueFlush(r)
	}
	return true
}

// flushPresence passes on queued presence, as many frames as the room's
// budget allows for one interval (at least one), and stays on the flush
// list while some is left.
func (r *room) flushPresence(interval time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	defer func() {
		if len(r.pending) > 0 {
			r.hub.queueFlush(r)
		} else {
			r.flushQueued = false
		}
	}()
	if len(r.pending) == 0 {
		r.order = r.order[:0]
		return
	}
	n := max(1, int(float64(r.hub.opts.PresenceBudget)*interval.Seconds())/max(1, len(r.members)))
	i := 0
	for ; i < len(r.order) && n > 0; i++ {
		p, queued := r.pending[r.order[i]]
		if !queued {
			continue // made moot by a leave
		}
		delete(r.pending, r.order[i])
		r.deliverNow(domain.EventPresence, 0, p.frame)
		n--
	}
	r.order = append(r.order[:0], r.order[i:]...)
}

// deliverNow writes one event to every member. r.mu is held.
func (r *room) deliverNow(kind string, seq uint64, frame []byte) {
	if seq > r.lastSeq {
		r.lastSeq = seq
		if r.delivered == nil {
			r.delivered = new([deliveredMemory]deliveredEvent)
		}
		r.delivered[seq%deliveredMemory] = deliveredEvent{seq: seq, hash: maphash.Bytes(r.seed, frame)}
	}
	if kind == domain.EventDeleted {
		for _, m := range r.members {
			m.sink.Close(domain.CloseDeleted)
		}
		return
	}
	n := 0
	for _, m := range r.members {
		if !m.live {
			if len(m.buf) >= r.hub.opts.JoinBuffer {
				m.overflow = true
				continue
			}
			m.buf = append(m.buf, frame)
			continue
		}
		if seq != 0 {
			if seq <= m.after {
				continue
			}
			m.after = seq
		}
		m.sink.Send(frame)
		n++
	}
	r.hub.metrics.Delivered(n)
}

// activate starts passing a joining member what arrived while it loaded its
// first frames (already written by Sink.Start), as passBuffered does. The
// room's first activation (and its first after a reset) tells the room
// where its paper's stream stands.
func (r *room) activate(m *Member, first start) (after uint64, hole bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.epoch != first.epoch {
		if r.epoch != "" {
			// The paper's data was lost and recreated: everyone else is on
			// a history that no longer exists.
			for _, o := range r.members {
				if o != m && o.live {
					o.sink.Close(domain.CloseResync)
				}
			}
			r.lastSeq = first.seq
		}
		// On the room's first activation lastSeq only moves up (below):
		// events that raced this join may already have passed it.
		r.epoch = first.epoch
	}
	if first.seq > r.lastSeq {
		r.lastSeq = first.seq
	}
	if r.lostUnanchored {
		// A resubscription before the room knew its stream: whatever the
		// bus lost after the newest event seen is not in any buffer.
		r.lostUnanchored = false
		r.startRecovery("resubscribed while the first session joined")
	}
	m.after = first.seq
	return r.passBufferedLocked(m, nil)
}

// passBuffered passes m the events fetched from history (after m.after, in
// order), then those buffered for it, skipping what m already has. Events
// that arrived before the room knew its stream were not checked for gaps:
// at the first missing seq it stops and reports the seq m has reached, so
// the caller can fetch the rest from history. Otherwise m is live.
func (r *room) passBuffered(m *Member, fetched []domain.Event) (after uint64, hole bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.passBufferedLocked(m, fetched)
}

func (r *room) passBufferedLocked(m *Member, fetched []domain.Event) (after uint64, hole bool, err error) {
	if m.overflow {
		return 0, false, fmt.Errorf("join %s: %w: too many events while joining", r.id, domain.ErrUnavailable)
	}
	for _, ev := range fetched {
		if ev.Seq > m.after {
			m.after = ev.Seq
			m.sink.Send(ev.Frame)
		}
	}
	// Deleted events never reach a buffer: deliverNow closes every member,
	// joining or not, on the spot.
	for i, f := range m.buf {
		_, seq, ok := protocol.EventHeader(f)
		if !ok || (seq != 0 && seq <= m.after) {
			continue
		}
		if seq > m.after+1 {
			m.buf = append(m.buf[:0], m.buf[i:]...)
			return m.after, true, nil
		}
		if seq != 0 {
			m.after = seq
		}
		m.sink.Send(f)
	}
	m.buf = nil
	m.live = true
	return m.after, false, nil
}

// startRecovery catches up from history in the background. r.mu is held.
func (r *room) startRecovery(why string) {
	if r.epoch == "" {
		// The room does not know its stream yet; its first activation
		// catches up (see activate).
		r.lostUnanchored = true
		return
	}
	if r.recovering {
		return
	}
	r.recovering = true
	r.hub.metrics.Resynced(r.id)
	r.hub.log.Warn("catching up from history", "paper", r.id, "reason", why, "after", r.lastSeq)
	r.wg.Add(1)
	go r.recover()
}

// recover fetches the events the bus lost and then the held ones, in order.
// It first checks that the store's stream still holds what the room passed
// on: the store's seq below the room's last one, or another frame at that
// seq, means the store lost events (a Redis failover before replication):
// see lost.
func (r *room) recover() {
	defer r.wg.Done()
	defer r.recoverPanic()
	backoff := 50 * time.Millisecond
	for {
		r.mu.Lock()
		since, epoch := r.lastSeq, r.epoch
		last, known := r.deliveredAt(since)
		r.mu.Unlock()
		if known {
			since-- // fetch the last event passed on too, to compare it
		}
		ctx, cancel := context.WithTimeout(context.Background(), r.hub.opts.StoreTimeout)
		frames, _, err := r.hub.store.History(ctx, r.id, epoch, since)
		cancel()
		if err == nil && known && (len(frames) == 0 || maphash.Bytes(r.seed, frames[0].Frame) != last) {
			r.renewAndReset(epoch, "the store holds another event at the last seq passed on")
			return
		}
		switch {
		case errors.Is(err, domain.ErrInvalid):
			// The store's seq is below what this room passed on.
			r.renewAndReset(epoch, "the store's seq went back below the last one passed on")
			return
		case err == nil:
			if r.finishRecovery(frames) {
				r.reannounce()
				r.recheckBans()
				return
			}
			continue // another gap in what was held: go again
		case errors.Is(err, ErrHistoryGone), errors.Is(err, domain.ErrNotFound):
			r.mu.Lock()
			r.resetLocked()
			r.mu.Unlock()
			return
		}
		r.hub.log.Warn("history unavailable, retrying", "paper", r.id, "err", err)
		select {
		case <-r.quit:
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// deliveredAt returns the hash of the frame passed on with seq, if the room
// remembers it. r.mu is held.
func (r *room) deliveredAt(seq uint64) (uint64, bool) {
	if r.delivered == nil {
		return 0, false
	}
	d := r.delivered[seq%deliveredMemory]
	return d.hash, seq > 0 && d.seq == seq
}

// differs reports whether the room passed on another frame with seq. r.mu
// is held.
func (r *room) differs(seq uint64, frame []byte) bool {
	h, known := r.deliveredAt(seq)
	return known && h != maphash.Bytes(r.seed, frame)
}

// lost handles a store that went back below seqs this room passed on: with
// redis.wait_replicas 0 a Redis failover can lose the last acked writes, and
// the new master then gives their seqs to other events. Nobody may be served
// a stream that silently skips or replaces what they saw: the paper's epoch
// is renewed (RenewEpoch publishes an epoch frame that resets the other
// replicas' rooms), then this room's sessions are closed to resume; their
// old epoch gets them a snapshot. Events are held (and never passed on)
// meanwhile. r.mu is held.
func (r *room) lost(why string) {
	epoch := r.epoch
	r.recovering, r.renewing = true, true
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer r.recoverPanic()
		r.renewAndReset(epoch, why)
	}()
}

// renewAndReset renews the paper's epoch if it is still epoch, retrying
// while the store is unreachable, and then resets the room.
func (r *room) renewAndReset(epoch, why string) {
	r.mu.Lock()
	r.renewing = true
	r.backlog = nil
	r.mu.Unlock()
	r.hub.log.Warn("the store lost events sessions saw: renewing the paper's epoch", "paper", r.id, "reason", why)
	r.hub.metrics.Resynced(r.id)
	backoff := 50 * time.Millisecond
	for {
		ctx, cancel := context.WithTimeout(context.Background(), r.hub.opts.StoreTimeout)
		_, err := r.hub.store.RenewEpoch(ctx, r.id, epoch)
		cancel()
		if err == nil || errors.Is(err, domain.ErrNotFound) {
			break
		}
		r.hub.log.Warn("renewing the epoch failed, retrying", "paper", r.id, "err", err)
		select {
		case <-r.quit:
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
	r.mu.Lock()
	if r.renewing { // not reset meanwhile by the renewal's own epoch frame
		r.resetLocked()
	}
	r.mu.Unlock()
}

// finishRecovery passes on the fetched frames and then the held ones. It
// reports false when the held ones have a gap again.
func (r *room) finishRecovery(frames []domain.Event) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.recovering {
		return true // reset meanwhile
	}
	for _, ev := range frames {
		if ev.Seq == 0 || ev.Seq > r.lastSeq {
			r.deliver(ev.Kind, ev.Seq, ev.Frame)
		}
	}
	held := r.backlog
	r.backlog = nil
	for i, f := range held {
		kind, seq, ok := protocol.EventHeader(f)
		if !ok {
			continue
		}
		if seq > r.lastSeq+1 {
			r.backlog = append(r.backlog, held[i:]...)
			return false
		}
		r.deliver(kind, seq, f)
	}
	r.recovering = false
	return true
}

// reannounce restores local presence entries a restarted store may have
// lost. Only live sessions: one still joining stores its own join (an update
// before it would show the session before its join).
func (r *room) reannounce() {
	r.mu.Lock()
	members := make([]*Member, 0, len(r.members))
	for _, m := range r.members {
		if m.live {
			members = append(members, m)
		}
	}
	r.mu.Unlock()
	for _, m := range members {
		ctx, cancel := context.WithTimeout(context.Background(), r.hub.opts.StoreTimeout)
		if err := m.writePresence(ctx, nil); err != nil {
			r.hub.log.Debug("presence re-announce failed", "paper", r.id, "err", err)
		}
		cancel()
	}
}

// closeBanned closes the sessions of the user a ban event names. r.mu is
// held.
func (r *room) closeBanned(frame []byte) {
	user, ok := protocol.BannedUser(frame)
	if !ok {
		r.hub.log.Error("undecodable ban event on bus", "paper", r.id, "bytes", len(frame))
		return
	}
	for _, m := range r.members {
		if m.author.User == user {
			m.sink.Close(domain.CloseBanned)
		}
	}
}

// recheckBans closes the sessions of banned users. The bus may have lost a
// ban event along with the ops it lost; this runs after every recovery.
func (r *room) recheckBans() {
	ctx, cancel := context.WithTimeout(context.Background(), r.hub.opts.StoreTimeout)
	defer cancel()
	bans, err := r.hub.store.Bans(ctx, r.id)
	if err != nil {
		r.hub.log.Warn("re-checking bans failed", "paper", r.id, "err", err)
		return
	}
	if len(bans) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range r.members {
		if slices.Contains(bans, m.author.User) {
			m.sink.Close(domain.CloseBanned)
		}
	}
}

// resetLocked gives up on a gap-free stream: every session is told to resume
// (it gets the ops it missed, or a snapshot). r.mu is held.
func (r *room) resetLocked() {
	r.hub.log.Warn("history cannot fill the gap: sessions will resume", "paper", r.id, "sessions", len(r.members))
	for _, m := range r.members {
		m.sink.Close(domain.CloseResync)
	}
	r.recovering, r.renewing = false, false
	r.backlog = nil
	r.epoch = ""
	r.lastSeq = 0
	r.delivered = nil
	r.lostUnanchored = false // every session was told to resume
}

// closeAll closes every session of the room.
func (r *room) closeAll(reason domain.CloseReason) {
	r.mu.Lock()
	members := append([]*Member(nil), r.members...)
	r.mu.Unlock()
	for _, m := range members {
		m.sink.Close(reason)
	}
}
