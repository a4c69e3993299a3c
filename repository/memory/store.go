// Package memory is papercast's embedded store and bus: papers, their
// bounded history, presence and the per-paper event channels, all in this
// process. It serves a single replica and keeps exactly the semantics of the
// Redis store (repository/redis); the shared contract suite
// (repository/storetest) runs against both.
//
// Concurrency: each paper has its own mutex. Apply and Finalize take the seq,
// append to the history and hand the frame to the bus inside that one
// critical section, so seq order, history order and publish order are one
// order. Handing a frame to a subscriber only appends it to the
// subscription's queue; a goroutine per subscription, running only while
// that queue holds frames, drains it into the handler with no store lock held, so a handler may call back into the
// store (even unsubscribe itself) without deadlock, and a slow handler never
// delays Apply.
//
// Lock order: a goroutine holding a lock only ever acquires locks to its
// right: paperState.mu -> room.mu -> Store.presMu, and
// paperState.mu -> Store.mu, and paperState.mu or room.mu -> Store.busMu ->
// subscription.mu. Store.mu and Store.presMu are only held for map look-ups
// and are released before a paper or room lock is taken.
package memory

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/paper"
	"github.com/papercast/papercast/usecase"
)

// Options configure a Store. Zero values take DefaultOptions.
type Options struct {
	// Limits bound each paper; the zero value means paper.DefaultLimits().
	Limits paper.Limits
	// HistorySize is how many events per paper are kept for resume.
	HistorySize int
	// PresenceTTL is how long a presence entry lives unless touched.
	PresenceTTL time.Duration
	// OpenIdle is how long an open paper nobody touches (no op, join or
	// finalize) is kept; zero means usecase.DefaultOpenIdle.
	OpenIdle time.Duration
	// Now is the clock for presence expiry and OpenIdle; nil means time.Now.
	Now func() time.Time
}

// Store is the embedded store and bus. It implements usecase.Store,
// usecase.PresenceStore and usecase.Bus. Create it with New and stop it with
// Close.
type Store struct {
	limits      paper.Limits
	historySize int
	ttl         time.Duration
	openIdle    time.Duration
	now         func() time.Time

	closed    atomic.Bool
	closeOnce sync.Once

	mu        sync.RWMutex
	papers    map[string]*paperState
	lastSweep time.Time // of papers idle past openIdle (Create sweeps)

	presMu sync.Mutex
	rooms  map[string]*room

	archMu    sync.Mutex
	toArchive archiveQueue

	busMu  sync.RWMutex
	topics map[string][]*subscription // copy-on-write: publish reads under RLock
	subsWG sync.WaitGroup             // one per running subscription drainer
}

var (
	_ usecase.Store         = (*Store)(nil)
	_ usecase.PresenceStore = (*Store)(nil)
	_ usecase.Bus           = (*Store)(nil)
)

// DefaultOptions are the store's settings when none are given: the same
// as every store's (usecase.DefaultHistorySize, usecase.DefaultPresenceTTL).
func DefaultOptions() Options {
	return Options{
		Limits:      paper.DefaultLimits(),
		HistorySize: usecase.DefaultHistorySize,
		PresenceTTL: usecase.DefaultPresenceTTL,
		OpenIdle:    usecase.DefaultOpenIdle,
		Now:         time.Now,
	}
}

// New returns an empty store.
func New(o Options) *Store {
	d := DefaultOptions()
	if o.Limits == (paper.Limits{}) {
		o.Limits = d.Limits
	}
	if o.HistorySize <= 0 {
		o.HistorySize = d.HistorySize
	}
	if o.PresenceTTL <= 0 {
		o.PresenceTTL = d.PresenceTTL
	}
	if o.OpenIdle <= 0 {
		o.OpenIdle = d.OpenIdle
	}
	if o.Now == nil {
		o.Now = d.Now
	}
	return &Store{
		limits:      o.Limits,
		historySize: o.HistorySize,
		ttl:         o.PresenceTTL,
		openIdle:    o.OpenIdle,
		now:         o.Now,
		papers:      make(map[string]*paperState),
		rooms:       make(map[string]*room),
		toArchive:   make(archiveQueue),
		topics:      make(map[string][]*subscription),
	}
}

// Close makes the store unavailable and stops every subscription's
// goroutine, waiting for handler calls in progress to return. It must not be
// called from a BusHandler. Closing twice is harmless.
func (s *Store) Close() {
	s.closeOnce.Do(func() {
		s.busMu.Lock()
		s.closed.Store(true)
		var subs []*subscription
		for id, list := range s.topics {
			subs = append(subs, list...)
			delete(s.topics, id)
		}
		s.busMu.Unlock()
		for _, sub := range subs {
			sub.stop()
		}
		s.subsWG.Wait()
	})
}

func (s *Store) unavailable() error {
	if s.closed.Load() {
		return fmt.Errorf("memory store closed: %w", domain.ErrUnavailable)
	}
	return nil
}

// Ping reports whether the store is open.
func (s *Store) Ping(context.Context) error { return s.unavailable() }

// Ready reports whether the bus is open.
func (s *Store) Ready(context.Context) error { return s.unavailable() }
