package admin

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/papercast/papercast/metrics"
	"github.com/papercast/papercast/usecase"
)

// Scope says how much a Source reports.
type Scope int

const (
	// ScopeCluster is this replica and every other one the Source knows.
	ScopeCluster Scope = iota
	// ScopeSelf is this replica only. A peer asks for it (?scope=self), so
	// replicas asking each other never recurse.
	ScopeSelf
)

// Source is what the admin surface reads. app implements it; Local is a
// ready implementation over the hub, the metrics and a store ping.
type Source interface {
	// Stats reports this replica first (Self set), then, for
	// ScopeCluster, the other replicas it can reach. It never fails as a
	// whole: a part it could not read carries its error instead.
	Stats(ctx context.Context, scope Scope) Stats
}

// Stats is the body of GET /admin/stats.
type Stats struct {
	GeneratedAt time.Time `json:"generated_at"`
	// Replicas holds at least this replica, first.
	Replicas []Replica `json:"replicas"`
}

// Replica is one papercast process as it sees itself.
type Replica struct {
	ID            string    `json:"id"`
	Addr          string    `json:"addr"`
	Self          bool      `json:"self"`
	StartedAt     time.Time `json:"started_at"`
	UptimeSeconds float64   `json:"uptime_seconds"`
	// Sessions is the hub's count of joined sessions.
	Sessions int `json:"sessions"`
	// ActivePapers counts rooms with at least one session, joined or
	// waiting for the room's subscription.
	ActivePapers int `json:"active_papers"`
	// Papers lists the active rooms, most sessions first, at most MaxPapers
	// of them; PapersOmitted counts the rest.
	Papers        []usecase.RoomStats `json:"papers"`
	PapersOmitted int                 `json:"papers_omitted"`
	// EmptyPapers are rooms with no session left, not even one waiting for
	// the room's subscription. A room is removed with its last session, so
	// anything here is a leak to investigate.
	EmptyPapers []usecase.RoomStats `json:"empty_papers"`
	Runtime     Runtime             `json:"runtime"`
	Store       StoreStatus         `json:"store"`
	Counts      metrics.Counts      `json:"counts"`
	// Series is the last minutes of this replica, when it runs a Sampler.
	Series *Series `json:"series,omitempty"`
	// Error is set when this replica could not be read (a peer that did
	// not answer); the other fields are then zero apart from Addr.
	Error string `json:"error,omitempty"`
}

// Store statuses.
const (
	StoreOK   = "ok"
	StoreDown = "down"
	// StoreUnknown means no ping was wired.
	StoreUnknown = "unknown"
)

// StoreStatus is the store's health as this replica sees it.
type StoreStatus struct {
	// Kind is the configured store: "memory" or "redis".
	Kind      string  `json:"kind"`
	Status    string  `json:"status"`
	LatencyMS float64 `json:"latency_ms"`
	Error     string  `json:"error,omitempty"`
}

// MaxPapers bounds the papers listed per replica, so a replica with many
// thousands of rooms still answers in a few hundred KB.
const MaxPapers = 500

// RoomLister is the part of usecase.Hub the admin page reads.
type RoomLister interface {
	Stats() (rooms []usecase.RoomStats, sessions int)
}

// CountsReader is the part of metrics.Metrics the admin page reads.
type CountsReader interface {
	Snapshot() metrics.Counts
}

// Local is a Source over this process's own parts. Zero-valued optional
// fields are skipped.
type Local struct {
	ID        string
	Addr      string
	StartedAt time.Time
	// StoreKind is "memory" or "redis".
	StoreKind string
	Hub       RoomLister
	// Counts is optional (nil: zero counts).
	Counts CountsReader
	// Ping measures the store's round trip (nil: status "unknown"). It is
	// called with PingTimeout.
	Ping        func(ctx context.Context) (time.Duration, error)
	PingTimeout time.Duration // default 1 s
	// Peers reports the other replicas for ScopeCluster (nil: this replica
	// only); see HTTPPeers. It is called with PeerTimeout.
	Peers       func(ctx context.Context) []Replica
	PeerTimeout time.Duration // default 2 s
	// Sampler provides the recent series (nil: none). Its owner starts and
	// closes it; Local only reads it.
	Sampler *Sampler
	// Now is the clock (nil: time.Now), for tests.
	Now func() time.Time
}

// Stats implements Source.
func (l *Local) Stats(ctx context.Context, scope Scope) Stats {
	s := Stats{GeneratedAt: l.now(), Replicas: []Replica{l.Self(ctx)}}
	if scope == ScopeCluster && l.Peers != nil {
		pctx, cancel := context.WithTimeout(ctx, orDefault(l.PeerTimeout, 2*time.Second))
		defer cancel()
		for _, p := range l.Peers(pctx) {
			p.Self = false
			s.Replicas = append(s.Replicas, p)
		}
	}
	return s
}

// Self reads this replica's stats.
func (l *Local) Self(ctx context.Context) Replica {
	now := l.now()
	r := Replica{
		ID: l.ID, Addr: l.Addr, Self: true,
		StartedAt:     l.StartedAt,
		UptimeSeconds: now.Sub(l.StartedAt).Seconds(),
		Papers:        []usecase.RoomStats{},
		EmptyPapers:   []usecase.RoomStats{},
		Runtime:       ReadRuntime(),
		Store:         StoreStatus{Kind: l.StoreKind, Status: StoreUnknown},
		Counts:        metrics.Counts{OpsOK: map[string]uint64{}, ErrorsByCode: map[string]uint64{}, RedisErrors: map[string]uint64{}},
	}
	if l.Hub != nil {
		rooms, sessions := l.Hub.Stats()
		r.Sessions = sessions
		for _, room := range rooms {
			if room.Sessions == 0 && room.Subscribing == 0 {
				r.EmptyPapers = append(r.EmptyPapers, room)
			} else {
				r.Papers = append(r.Papers, room)
			}
		}
		r.ActivePapers = len(r.Papers)
		slices.SortFunc(r.Papers, func(a, b usecase.RoomStats) int {
			return cmp.Or(cmp.Compare(b.Sessions, a.Sessions), cmp.Compare(a.PaperID, b.PaperID))
		})
		slices.SortFunc(r.EmptyPapers, func(a, b usecase.RoomStats) int { return cmp.Compare(a.PaperID, b.PaperID) })
		if len(r.Papers) > MaxPapers {
			r.PapersOmitted = len(r.Papers) - MaxPapers
			r.Papers = r.Papers[:MaxPapers]
		}
		if len(r.EmptyPapers) > MaxPapers {
			r.EmptyPapers = r.EmptyPapers[:MaxPapers]
		}
	}
	if l.Counts != nil {
		r.Counts = l.Counts.Snapshot()
	}
	if l.Sampler != nil {
		s := l.Sampler.Series()
		r.Series = &s
	}
	if l.Ping != nil {
		pctx, cancel := context.WithTimeout(ctx, orDefault(l.PingTimeout, time.Second))
		d, err := l.Ping(pctx)
		cancel()
		r.Store.LatencyMS = float64(d) / float64(time.Millisecond)
		if err != nil {
			r.Store.Status, r.Store.Error = StoreDown, err.Error()
		} else {
			r.Store.Status = StoreOK
		}
	}
	return r
}

func (l *Local) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// TimePing turns a store's Ping(ctx) error into a Local.Ping that also
// measures the round trip.
func TimePing(ping func(context.Context) error) func(context.Context) (time.Duration, error) {
	return func(ctx context.Context) (time.Duration, error) {
		start := time.Now()
		err := ping(ctx)
		return time.Since(start), err
	}
}
