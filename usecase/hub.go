package usecase

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/paper"
	"github.com/papercast/papercast/protocol"
)

// Sink is one live session as the hub sees it. delivery/ws implements it on
// a WebSocket connection.
type Sink interface {
	// Start writes a joining session's first frames (snapshot or resumed,
	// then missed ops). It may block; it is called once, before any Send,
	// without any lock held.
	Start(frames [][]byte) error
	// Send queues a frame without blocking. The frame is shared with every
	// other receiver and must not be modified. A sink whose buffer is full
	// closes itself (too slow); the hub does not wait for it.
	Send(frame []byte)
	// Close ends the session for the given reason.
	Close(reason domain.CloseReason)
}

// HubOptions tune the fan-out. Zero values take DefaultHubOptions.
type HubOptions struct {
	// MaxSessionsPerPaper bounds the sessions one replica holds on one paper.
	MaxSessionsPerPaper int
	// MaxSessions bounds the sessions of this replica.
	MaxSessions int
	// JoinBuffer bounds the frames held for a session while it joins.
	JoinBuffer int
	// PresenceHeartbeat is how often local sessions' presence is refreshed.
	PresenceHeartbeat time.Duration
	// StoreTimeout bounds every store call made on a session's behalf.
	StoreTimeout time.Duration
	// MaxOpsInFlight bounds the ops of this replica waiting on the store;
	// past it Edit refuses with domain.ErrOverloaded (see inflight.go).
	MaxOpsInFlight int
	// Presence in rooms of PresenceImmediateBelow sessions or more is
	// coalesced (latest per session) and passed on every PresenceFlush,
	// within PresenceBudget deliveries per second per room.
	PresenceImmediateBelow int
	PresenceFlush          time.Duration
	PresenceBudget         int
	// Now is the clock that stamps new elements' createdAt (nil: time.Now).
	Now func() time.Time
	// Filter screens upsert field values and display names (nil: off).
	Filter ContentFilter
}

// DefaultHubOptions are the hub's settings when none are given; config.yaml
// gives the reason for each.
func DefaultHubOptions() HubOptions {
	return HubOptions{
		MaxSessionsPerPaper:    1000,
		MaxSessions:            20000,
		JoinBuffer:             4096,
		PresenceHeartbeat:      10 * time.Second,
		StoreTimeout:           5 * time.Second,
		MaxOpsInFlight:         DefaultMaxOpsInFlight,
		PresenceImmediateBelow: 32,
		PresenceFlush:          50 * time.Millisecond,
		PresenceBudget:         2000,
	}
}

// defaults replaces every unset (zero or negative) option by its default.
func (o *HubOptions) defaults() {
	d := DefaultHubOptions()
	if o.MaxSessionsPerPaper <= 0 {
		o.MaxSessionsPerPaper = d.MaxSessionsPerPaper
	}
	if o.MaxSessions <= 0 {
		o.MaxSessions = d.MaxSessions
	}
	if o.JoinBuffer <= 0 {
		o.JoinBuffer = d.JoinBuffer
	}
	if o.PresenceHeartbeat <= 0 {
		o.PresenceHeartbeat = d.PresenceHeartbeat
	}
	if o.StoreTimeout <= 0 {
		o.StoreTimeout = d.StoreTimeout
	}
	if o.MaxOpsInFlight <= 0 {
		o.MaxOpsInFlight = d.MaxOpsInFlight
	}
	if o.PresenceImmediateBelow <= 0 {
		o.PresenceImmediateBelow = d.PresenceImmediateBelow
	}
	if o.PresenceFlush <= 0 {
		o.PresenceFlush = d.PresenceFlush
	}
	if o.PresenceBudget <= 0 {
		o.PresenceBudget = d.PresenceBudget
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Hub runs live sessions: join (gap-free), edits, presence, and the per-paper
// fan-out of bus events to this replica's sessions. It keeps one room per
// paper with local sessions, subscribed to that paper's bus channel while the
// room has anyone in it, and removed with its subscription when the last
// session leaves.
type Hub struct {
	store    Store
	presence PresenceStore
	bus      Bus
	limits   paper.Limits
	opts     HubOptions
	log      *slog.Logger
	metrics  HubMetrics
	ops      *inflight

	mu       sync.Mutex
	rooms    map[string]*room
	sessions int
	closed   bool

	// Rooms with presence queued for the next flush (see queueFlush), so a
	// flush touches those rooms only, never every room.
	flushMu sync.Mutex
	flushQ  []*room

	stop chan struct{}
	wg   sync.WaitGroup // the heartbeat and flush loops; rooms wait for their own recoveries
}

// HubMetrics receives counts from the hub; nil methods are not allowed, use
// NopHubMetrics.
type HubMetrics interface {
	Delivered(n int)
	// FanOut is how long one event took from its arrival at the room to
	// its hand-off to the room's sessions.
	FanOut(d time.Duration)
	JoinDuration(d time.Duration, resumed bool)
	Resynced(paperID string)
}

// NopHubMetrics discards everything.
type NopHubMetrics struct{}

func (NopHubMetrics) Delivered(int)                    {}
func (NopHubMetrics) FanOut(time.Duration)             {}
func (NopHubMetrics) JoinDuration(time.Duration, bool) {}
func (NopHubMetrics) Resynced(string)                  {}

// NewHub wires a hub and starts its presence loops (the heartbeat and the
// flush of coalesced presence); Close stops them.
func NewHub(store Store, presence PresenceStore, bus Bus, limits paper.Limits, opts HubOptions, metrics HubMetrics, log *slog.Logger) *Hub {
	opts.defaults()
	if metrics == nil {
		metrics = NopHubMetrics{}
	}
	h := &Hub{
		store: store, presence: presence, bus: bus, limits: limits, opts: opts, log: log, metrics: metrics,
		ops:   newInflight(opts.MaxOpsInFlight),
		rooms: make(map[string]*room),
		stop:  make(chan struct{}),
	}
	h.wg.Add(2)
	go h.every(opts.PresenceHeartbeat, h.heartbeat)
	go h.every(opts.PresenceFlush, func() { h.flushQueued(opts.PresenceFlush) })
	return h
}

// every calls fn each period until the hub stops. A call that overruns the
// period makes the ticker drop ticks, not queue them.
func (h *Hub) every(period time.Duration, fn func()) {
	defer h.wg.Done()
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
		}
		fn()
	}
}

func (h *Hub) roomList() []*room {
	h.mu.Lock()
	defer h.mu.Unlock()
	rooms := make([]*room, 0, len(h.rooms))
	for _, r := range h.rooms {
		rooms = append(rooms, r)
	}
	return rooms
}

// JoinRequest asks to join a paper's live session.
type JoinRequest struct {
	PaperID string
	User    string
	Name    string
	// Resume asks for the ops after Since in Epoch instead of a snapshot; the
	// hub falls back to a snapshot when history no longer covers them.
	Resume bool
	Since  uint64
	Epoch  string
	// Token is a credential for User on this paper that the delivery
	// issued (guest mode); the first frame hands it to the client in
	// you.token. Empty: none is sent.
	Token string
}

// Member is one session joined to a paper.
type Member struct {
	hub    *Hub
	room   *room
	sink   Sink
	author domain.Author

	// Guarded by room.mu.
	live     bool
	after    uint64   // highest seq sent; frames at or below it are skipped
	buf      [][]byte // frames that arrived while joining
	overflow bool
	state    json.RawMessage // last presence state, re-announced after a resync

	leaveOnce sync.Once
	sent      atomic.Uint64 // ops passed to the store (OpOrder.N)
	owner     atomic.Bool   // claimed with the owner key (Claim)

	// presMu orders this session's presence writes (its own updates, the
	// heartbeat's restores, its leave) so nothing re-creates an entry after
	// the leave removed it.
	presMu sync.Mutex
	left   bool
}

// writePresence stores the session's presence and publishes an update: the
// given state, or (nil) the last one, unless the session has left.
func (m *Member) writePresence(ctx context.Context, state json.RawMessage) error {
	m.presMu.Lock()
	defer m.presMu.Unlock()
	if m.left {
		return nil
	}
	m.room.mu.Lock()
	if state == nil {
		state = m.state
	} else {
		m.state = state
	}
	m.room.mu.Unlock()
	return m.hub.presence.SetPresence(ctx, m.room.id, m.presenceEntry(state), protocol.PresenceUpdate)
}

// Author is who this member is.
func (m *Member) Author() domain.Author { return m.author }

// Admit runs the checks of a join that need no session, so a delivery can
// refuse before upgrading a connection: the paper exists (ErrNotFound if
// not) and the display name passes the content filter (ErrFiltered under
// reject). It returns req as Join will take it (the name masked under mask).
func (h *Hub) Admit(ctx context.Context, req JoinRequest) (JoinRequest, error) {
	if !paper.ValidID(req.PaperID) {
		return req, fmt.Errorf("paper %q: %w", req.PaperID, domain.ErrNotFound)
	}
	req, err := h.screenName(req)
	if err != nil {
		return req, err
	}
	ctx, cancel := context.WithTimeout(ctx, h.opts.StoreTimeout)
	defer cancel()
	if _, err := h.store.Paper(ctx, req.PaperID); err != nil {
		return req, fmt.Errorf("open session: %w", err)
	}
	return req, nil
}

// screenName applies the content filter to the display name a session
// gives itself: everyone sees it in presence and on the session's ops.
func (h *Hub) screenName(req JoinRequest) (JoinRequest, error) {
	if h.opts.Filter == nil || req.Name == "" {
		return req, nil
	}
	name, err := h.opts.Filter.ApplyString("name", req.Name)
	if err != nil {
		return req, fmt.Errorf("join %s: %w", req.PaperID, err)
	}
	req.Name = name
	return req, nil
}

// Join adds a session to a paper. The first frame the sink receives is a
// snapshot or a resumed frame (followed by the missed ops); after it, every op
// of the paper exactly once, in seq order, with no gap.
func (h *Hub) Join(ctx context.Context, req JoinRequest, sink Sink) (*Member, error) {
	start := time.Now()
	if !paper.ValidID(req.PaperID) {
		return nil, fmt.Errorf("paper %q: %w", req.PaperID, domain.ErrNotFound)
	}
	// Admit screened it already when the delivery called it; screening is
	// idempotent, and Join must not depend on that call.
	req, err := h.screenName(req)
	if err != nil {
		return nil, err
	}
	m := &Member{
		hub: h, sink: sink, author: domain.Author{Session: NewSessionID(), User: req.User, Name: req.Name},
		// Set before m is registered: the room reads it from then on.
		state: emptyState,
	}
	r, err := h.acquire(ctx, req.PaperID)
	if err != nil {
		return nil, err
	}
	m.room = r
	// Registered before anything is read from the store: every event that
	// arrives from now on is buffered for m, and every event that arrived
	// before is already in what the store returns below.
	r.mu.Lock()
	r.members = append(r.members, m)
	r.mu.Unlock()

	first, resumed, err := h.load(ctx, r, m, req)
	if err != nil {
		m.Leave() // also takes back the presence join, if it was stored
		return nil, err
	}
	frames := make([][]byte, 0, 1+len(resumed.frames))
	frames = append(frames, first.frame)
	for _, ev := range resumed.frames {
		frames = append(frames, ev.Frame)
	}
	if err := sink.Start(frames); err != nil {
		m.Leave() // also takes back the presence join, if it was stored
		return nil, fmt.Errorf("join %s: %w", req.PaperID, err)
	}
	if err := h.activate(ctx, r, m, first); err != nil {
		m.Leave() // also takes back the presence join, if it was stored
		return nil, err
	}
	h.metrics.JoinDuration(time.Since(start), resumed.ok)
	return m, nil
}

// emptyState is a session's presence state until it sets one.
var emptyState = json.RawMessage(`{}`)

// activate makes m live. The bus may have lost events m needs, before the
// room could notice (the room learns where its paper's stream stands only
// from its first activation): when m's buffered events skip a seq, the
// missing ones are read from history here, in m's own goroutine, while m
// keeps buffering; if history no longer has them, m is closed to resume.
func (h *Hub) activate(ctx context.Context, r *room, m *Member, first start) error {
	after, hole, err := r.activate(m, first)
	for hole && err == nil {
		h.log.Warn("joining session missed events: reading them from history", "paper", r.id, "after", after)
		var fill []domain.Event
		fill, err = h.fillHole(ctx, r.id, first.epoch, after)
		switch {
		case errors.Is(err, ErrHistoryGone), errors.Is(err, domain.ErrInvalid):
			m.sink.Close(domain.CloseResync)
			return fmt.Errorf("join %s: %w: events after seq %d were lost and history no longer has them (%v)", r.id, domain.ErrUnavailable, after, err)
		case err != nil:
			return fmt.Errorf("join %s: fill from history: %w", r.id, err)
		}
		after, hole, err = r.passBuffered(m, fill)
	}
	return err
}

// fillHole reads the events after seq from history; each call must make
// progress.
func (h *Hub) fillHole(ctx context.Context, paperID, epoch string, after uint64) ([]domain.Event, error) {
	ctx, cancel := context.WithTimeout(ctx, h.opts.StoreTimeout)
	defer cancel()
	fill, _, err := h.store.History(ctx, paperID, epoch, after)
	if err != nil {
		return nil, err
	}
	if len(fill) == 0 || fill[len(fill)-1].Seq <= after {
		// A buffered event is ahead of the paper: not this epoch's stream.
		return nil, fmt.Errorf("%w: buffered events skip seq %d, which history does not have", ErrHistoryGone, after+1)
	}
	return fill, nil
}

type resumeState struct {
	ok     bool
	frames []domain.Event
}

// start is where a member's stream begins.
type start struct {
	frame []byte
	epoch string
	seq   uint64
}

// load announces m's presence and reads what its first frame needs. A
// banned user is refused here, after m was registered in its room: a ban
// stored after this check is published after it too, and the room closes m
// when that event arrives.
func (h *Hub) load(ctx context.Context, r *room, m *Member, req JoinRequest) (start, resumeState, error) {
	ctx, cancel := context.WithTimeout(ctx, h.opts.StoreTimeout)
	defer cancel()
	banned, err := h.store.Banned(ctx, r.id, m.author.User)
	if err != nil {
		return start{}, resumeState{}, fmt.Errorf("join %s: bans: %w", r.id, err)
	}
	if banned {
		return start{}, resumeState{}, fmt.Errorf("join %s as %q: %w", r.id, m.author.User, domain.ErrBanned)
	}
	// A join restarts the paper's idle clock (retention): a paper people
	// read but no longer write stays.
	if err := h.store.Touch(ctx, r.id); err != nil {
		return start{}, resumeState{}, fmt.Errorf("join %s: touch: %w", r.id, err)
	}
	if err := h.presence.SetPresence(ctx, r.id, m.presenceEntry(emptyState), protocol.PresenceJoin); err != nil {
		return start{}, resumeState{}, fmt.Errorf("join %s: presence: %w", r.id, err)
	}
	if req.Resume {
		frames, cur, err := h.store.History(ctx, r.id, req.Epoch, req.Since)
		switch {
		case err == nil:
			pres, err := h.presence.ListPresence(ctx, r.id)
			if err != nil {
				return start{}, resumeState{}, fmt.Errorf("join %s: presence: %w", r.id, err)
			}
			f := protocol.ResumedFrame(req.Epoch, req.Since, cur, protocol.You{Author: m.author, Token: req.Token}, pres)
			return start{frame: f, epoch: req.Epoch, seq: cur}, resumeState{ok: true, frames: frames}, nil
		case errors.Is(err, ErrHistoryGone), errors.Is(err, domain.ErrInvalid):
			// Fall through to a snapshot.
		default:
			return start{}, resumeState{}, fmt.Errorf("join %s: history: %w", r.id, err)
		}
	}
	doc, err := h.store.Snapshot(ctx, r.id)
	if err != nil {
		return start{}, resumeState{}, fmt.Errorf("join %s: snapshot: %w", r.id, err)
	}
	pres, err := h.presence.ListPresence(ctx, r.id)
	if err != nil {
		return start{}, resumeState{}, fmt.Errorf("join %s: presence: %w", r.id, err)
	}
	f := protocol.SnapshotFrame(doc, protocol.You{Author: m.author, Token: req.Token}, pres)
	return start{frame: f, epoch: doc.Paper.Epoch, seq: doc.Paper.Seq}, resumeState{}, nil
}

func (m *Member) presenceEntry(state json.RawMessage) domain.Presence {
	return domain.Presence{Session: m.author.Session, User: m.author.User, Name: m.author.Name, State: state}
}

// Edit validates an op and applies it; the returned seq is for the ack. The
// op frame reaches every session (this one included) through the bus. The
// store applies a session's ops in the order of its Edit calls, or refuses
// one that arrives after a later one (OpOrder). ErrOverloaded (nothing
// applied) when the replica already has MaxOpsInFlight ops at the store.
func (m *Member) Edit(ctx context.Context, op domain.Op) (uint64, error) {
	if err := m.hub.limits.ValidateOp(op); err != nil {
		return 0, err
	}
	if f := m.hub.opts.Filter; f != nil && op.Kind == domain.OpUpsert {
		// Before the op body is encoded: what is stored and what every
		// session (this one too) sees is the masked text.
		fields, err := f.ApplyFields(op.Fields)
		if err != nil {
			return 0, fmt.Errorf("%s %s on %s: %w", op.Kind, op.ID, m.room.id, err)
		}
		op.Fields = fields
	}
	if !m.hub.ops.acquire() {
		return 0, fmt.Errorf("%s %s on %s: %w", op.Kind, op.ID, m.room.id, domain.ErrOverloaded)
	}
	defer m.hub.ops.release()
	ctx, cancel := context.WithTimeout(ctx, m.hub.opts.StoreTimeout)
	defer cancel()
	order := OpOrder{Session: m.author.Session, N: m.sent.Add(1)}
	ed := Editor{User: m.author.User, Name: m.author.Name, Owner: m.owner.Load(), At: m.hub.opts.Now()}
	seq, err := m.hub.store.Apply(ctx, m.room.id, op, protocol.OpBody(op, m.author), order, ed)
	if err != nil {
		return 0, fmt.Errorf("%s %s on %s: %w", op.Kind, op.ID, m.room.id, err)
	}
	return seq, nil
}

// Claim makes this session an owner session if ownerKey is the paper's
// owner key (compared in constant time): from then on it may change or
// delete any element and ban people. A missing or wrong key is
// domain.ErrForbidden and changes nothing.
func (m *Member) Claim(ctx context.Context, ownerKey string) error {
	ctx, cancel := context.WithTimeout(ctx, m.hub.opts.StoreTimeout)
	defer cancel()
	p, err := m.hub.store.Paper(ctx, m.room.id)
	if err != nil {
		return fmt.Errorf("claim %s: %w", m.room.id, err)
	}
	if ownerKey == "" || !ownerKeyMatches(ownerKey, p.OwnerKeyHash) {
		return fmt.Errorf("claim %s: %w: wrong owner key", m.room.id, domain.ErrForbidden)
	}
	m.owner.Store(true)
	return nil
}

// Owner reports whether this session has claimed the paper (Claim).
func (m *Member) Owner() bool { return m.owner.Load() }

// Ban removes a user from the paper: their sessions on every replica are
// closed (domain.CloseBanned) and they cannot join or edit until the ban is
// lifted. Only an owner session may ban (domain.ErrForbidden otherwise).
func (m *Member) Ban(ctx context.Context, user string) error {
	if !m.owner.Load() {
		return fmt.Errorf("ban on %s: %w: only an owner session may ban; claim the paper first", m.room.id, domain.ErrForbidden)
	}
	if err := paper.ValidateUser(user); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, m.hub.opts.StoreTimeout)
	defer cancel()
	if err := m.hub.store.Ban(ctx, m.room.id, user); err != nil {
		return fmt.Errorf("ban on %s: %w", m.room.id, err)
	}
	return nil
}

// SetPresence publishes this session's ephemeral state.
func (m *Member) SetPresence(ctx context.Context, state json.RawMessage) error {
	if err := m.hub.limits.ValidatePresence(state); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, m.hub.opts.StoreTimeout)
	defer cancel()
	if err := m.writePresence(ctx, state); err != nil {
		return fmt.Errorf("presence on %s: %w", m.room.id, err)
	}
	return nil
}

// Leave removes the session from its paper and says goodbye to the others.
// It is safe to call more than once.
func (m *Member) Leave() {
	m.leaveOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), m.hub.opts.StoreTimeout)
		defer cancel()
		m.presMu.Lock()
		m.left = true
		err := m.hub.presence.RemovePresence(ctx, m.room.id, m.presenceEntry(nil))
		m.presMu.Unlock()
		if err != nil {
			// The entry expires by TTL; nothing is lost.
			m.hub.log.Debug("presence leave failed", "paper", m.room.id, "session", m.author.Session, "err", err)
		}
		m.drop()
	})
}

// drop unregisters m from its room and releases the room.
func (m *Member) drop() {
	r := m.room
	r.mu.Lock()
	for i, x := range r.members {
		if x == m {
			last := len(r.members) - 1
			r.members[i] = r.members[last]
			r.members[last] = nil
			r.members = r.members[:last]
			break
		}
	}
	m.buf = nil
	r.mu.Unlock()
	m.hub.release(r)
}

// acquire returns the paper's room with a reference taken, creating and
// subscribing it if needed.
func (h *Hub) acquire(ctx context.Context, paperID string) (*room, error) {
	for {
		h.mu.Lock()
		if h.closed {
			h.mu.Unlock()
			return nil, fmt.Errorf("%w: server is shutting down", domain.ErrUnavailable)
		}
		if h.opts.MaxSessions > 0 && h.sessions >= h.opts.MaxSessions {
			h.mu.Unlock()
			return nil, fmt.Errorf("%w: this server holds its maximum of %d sessions", domain.ErrFull, h.opts.MaxSessions)
		}
		r := h.rooms[paperID]
		if r != nil && r.closing {
			// The last session just left and the room is unsubscribing:
			// wait for it so two subscriptions of one paper never overlap.
			done := r.done
			h.mu.Unlock()
			select {
			case <-done:
				continue
			case <-ctx.Done():
				return nil, fmt.Errorf("join %s: %w", paperID, ctx.Err())
			}
		}
		if r != nil && h.opts.MaxSessionsPerPaper > 0 && r.refs >= h.opts.MaxSessionsPerPaper {
			h.mu.Unlock()
			return nil, fmt.Errorf("%w: paper %s holds its maximum of %d sessions here", domain.ErrFull, paperID, h.opts.MaxSessionsPerPaper)
		}
		creator := r == nil
		if creator {
			r = newRoom(h, paperID)
			h.rooms[paperID] = r
		}
		r.refs++
		h.sessions++
		h.mu.Unlock()

		if creator {
			subCtx, cancel := context.WithTimeout(ctx, h.opts.StoreTimeout)
			unsub, err := h.bus.Subscribe(subCtx, paperID, r)
			cancel()
			r.unsubscribe, r.subErr = unsub, err
			close(r.ready)
		}
		select {
		case <-r.ready:
		case <-ctx.Done():
			h.release(r)
			return nil, fmt.Errorf("join %s: %w", paperID, ctx.Err())
		}
		if r.subErr != nil {
			h.release(r)
			return nil, fmt.Errorf("join %s: subscribe: %w", paperID, r.subErr)
		}
		return r, nil
	}
}

// release drops a reference; the last one unsubscribes and removes the room.
func (h *Hub) release(r *room) {
	h.mu.Lock()
	r.refs--
	h.sessions--
	if r.refs > 0 {
		h.mu.Unlock()
		return
	}
	r.closing = true
	h.mu.Unlock()

	<-r.ready
	if r.unsubscribe != nil {
		r.unsubscribe()
	}
	close(r.quit)
	r.wg.Wait()

	h.mu.Lock()
	if h.rooms[r.id] == r {
		delete(h.rooms, r.id)
	}
	h.mu.Unlock()
	close(r.done)
}

// Close ends every session with a going-away close and stops the hub. The
// sessions' own Leave calls then release the rooms.
func (h *Hub) Close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	h.mu.Unlock()
	for _, r := range h.roomList() {
		r.closeAll(domain.CloseGoingAway)
	}
	close(h.stop)
	h.wg.Wait()
}

// Wait blocks until every room is gone (all sessions have left) or ctx ends.
func (h *Hub) Wait(ctx context.Context) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		h.mu.Lock()
		n := len(h.rooms)
		h.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d rooms still open: %w", n, ctx.Err())
		case <-t.C:
		}
	}
}

// Rooms is the number of papers with sessions on this replica.
func (h *Hub) Rooms() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.rooms)
}

// RoomStats is one room as seen from this replica.
type RoomStats struct {
	PaperID string `json:"paper"`
	// Sessions are the room's members: live, or loading their first frames.
	Sessions int `json:"sessions"`
	// Subscribing counts sessions that hold the room but are not members
	// yet: the room is still subscribing to its paper's channel. A new room
	// has no member until its subscription is made; it is not empty.
	Subscribing int    `json:"subscribing"`
	Seq         uint64 `json:"seq"`
}

// Stats lists this replica's rooms and its session count (the sum of the
// rooms' Sessions and Subscribing).
func (h *Hub) Stats() (rooms []RoomStats, sessions int) {
	type held struct {
		r    *room
		refs int
	}
	h.mu.Lock()
	sessions = h.sessions
	list := make([]held, 0, len(h.rooms))
	for _, r := range h.rooms {
		list = append(list, held{r, r.refs})
	}
	h.mu.Unlock()
	rooms = make([]RoomStats, 0, len(list))
	for _, x := range list {
		x.r.mu.Lock()
		n := len(x.r.members)
		rooms = append(rooms, RoomStats{PaperID: x.r.id, Sessions: n, Subscribing: max(0, x.refs-n), Seq: x.r.lastSeq})
		x.r.mu.Unlock()
	}
	return rooms, sessions
}
