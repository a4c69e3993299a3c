package usecase

import "time"

// One tick of each presence loop, for the benchmarks (the loops themselves
// run on timers).

// FlushTick passes on coalesced presence, as the hub does every
// PresenceFlush.
func (h *Hub) FlushTick() { h.flushQueued(h.opts.PresenceFlush) }

// HeartbeatTick is one presence heartbeat, as the hub does every
// PresenceHeartbeat.
func (h *Hub) HeartbeatTick() { h.heartbeat() }

// SetNow sets the archiver's clock (its claims' now).
func (a *Archiver) SetNow(now func() time.Time) { a.now = now }
