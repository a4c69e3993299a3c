// Package storetest is the contract every papercast store must keep: one
// suite, run against the embedded store (repository/memory) and the Redis
// store (repository/redis), that pins down each semantic documented on
// usecase.Store, usecase.PresenceStore and usecase.Bus. It uses only those
// public interfaces, so the same test is proof for every implementation.
//
// A store's test calls Run with a factory:
//
//	func TestContract(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) storetest.Env {
//			s := newStore(t, storetest.SmallLimits(), storetest.SmallHistory, ttl)
//			return storetest.Env{Store: s, Presence: s, Bus: s, ...}
//		})
//	}
package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/papercast/papercast/paper"
	"github.com/papercast/papercast/usecase"
)

// Env is one store under test, as a factory builds it for one group of
// tests. Limits, HistorySize and PresenceTTL must be the values the store
// was actually configured with: the suite derives its boundary cases from
// them.
type Env struct {
	Store    usecase.Store
	Presence usecase.PresenceStore
	Bus      usecase.Bus
	// Queue is the store's to-archive set (the Archive group).
	Queue usecase.ArchiveQueue

	// Limits the store enforces. See SmallLimits for values that keep the
	// suite fast; the suite fails early if the limits are too small for its
	// cases (MaxFields >= 4, MaxElements >= 4, MaxValueBytes >= 24, and an
	// element of MaxElementBytes+1 bytes must be buildable from MaxFields
	// fields of 3-character names and values under MaxValueBytes).
	Limits paper.Limits
	// HistorySize is how many events per paper the store keeps (8..10000).
	// The trimming cases apply HistorySize+3 ops, so keep it small.
	HistorySize int
	// PresenceTTL is the store's presence entry lifetime.
	PresenceTTL time.Duration
	// Advance, if set, moves the presence store's clock forward by d: the
	// suite then never sleeps for presence expiry. If nil, the suite sleeps
	// in real time, in steps of PresenceTTL/8, touching live entries between
	// steps: keep PresenceTTL well above scheduling hiccups (300ms-1s).
	Advance func(d time.Duration)
	// OpenIdle is the store's retention window: how long an open paper
	// nobody touches is kept. The suite passes 2x OpenIdle (with Advance,
	// or in real time: see RetentionIdle) and keeps papers alive with
	// touches OpenIdle/8 apart.
	OpenIdle time.Duration
	// WaitTimeout bounds each wait for a published frame; zero means 10s.
	WaitTimeout time.Duration
}

// SmallLimits are limits that keep every boundary case of the suite small
// and fast. Configure the store under test with them.
func SmallLimits() paper.Limits {
	return paper.Limits{
		MaxFields:        4,
		MaxValueBytes:    48,
		MaxElementBytes:  160,
		MaxElements:      6,
		MaxPresenceBytes: 256,
		MaxTitleChars:    200,
		MaxToChars:       200,
	}
}

// SmallHistory is a history size that keeps the trimming cases fast.
const SmallHistory = 16

// defaultWaitTimeout bounds every wait for a published frame.
const defaultWaitTimeout = 10 * time.Second

// Run runs the whole contract. newEnv is called once per group of tests
// (named subtests: Papers, Apply, Limits, Finalize, Delete, History, Bus,
// Concurrency, Presence, Rules, Retention, Archive) with that group's *testing.T; it should register
// its own cleanup with t.Cleanup. Envs may share one backend (one
// redis-server) as every test works on fresh random paper ids, but each Env
// must be a store configured as the Env says. Groups run one after another.
func Run(t *testing.T, newEnv func(t *testing.T) Env) {
	t.Helper()
	groups := []struct {
		name string
		run  func(t *testing.T, e *env)
	}{
		{"Papers", testPapers},
		{"Apply", testApply},
		{"Limits", testLimits},
		{"Finalize", testFinalize},
		{"Delete", testDelete},
		{"History", testHistory},
		{"Bus", testBus},
		{"Concurrency", testConcurrency},
		{"Presence", testPresence},
		{"Rules", testRules},
		{"Retention", testRetention},
		{"Archive", testArchive},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			e := &env{Env: newEnv(t)}
			e.check(t)
			g.run(t, e)
		})
	}
}

// RetentionIdle is the OpenIdle a factory on the real clock gives the
// store for t's group: short (1.5s) for the Retention group, which sleeps
// through it, and long elsewhere, so no other group's pauses drop a paper.
func RetentionIdle(t *testing.T) time.Duration {
	if strings.HasSuffix(t.Name(), "/Retention") {
		return 1500 * time.Millisecond
	}
	return time.Hour
}

// subtest is one named test of a group.
type subtest struct {
	name string
	run  func(t *testing.T, e *env)
}

// subtests runs each test of a group as a subtest on the group's env.
func subtests(t *testing.T, e *env, tests []subtest) {
	t.Helper()
	for _, s := range tests {
		t.Run(s.name, func(t *testing.T) { s.run(t, e) })
	}
}
