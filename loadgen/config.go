// Package loadgen is papercast's load generator: it opens many WebSocket
// sessions over many papers on running replicas (or on Redis plus replicas
// it starts itself), sends typing-like edits and presence at a steady rate,
// and measures what the benchmark asks for: join time, ops acked and
// deliveries per second, end-to-end latency from the sender's send to every
// receiver's receive, lost, out-of-order and duplicate deliveries, each
// sender's order at every receiver, ops refused with an error but stored
// anyway, errors by code, and each replica's memory and CPU.
//
// Senders and receivers live in this one process, so the send time carried
// inside each op ("t", ns since the run started, monotonic) and the receive
// time are read from the same clock.
package loadgen

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Config is one load run.
type Config struct {
	// Targets are the base URLs of running replicas (http://host:port).
	// Either Targets or Spawn.
	Targets []string
	// Pids are the targets' process ids, optional, for RSS and CPU.
	Pids []int
	// Spawn starts a throwaway redis-server and this many replicas of Bin.
	Spawn int
	// Bin is the papercast binary spawned replicas run.
	Bin string
	// RedisBin is the redis-server binary (default: from PATH).
	RedisBin string
	// Store is what spawned replicas use: "redis" (default) or "memory"
	// (one replica only: the embedded store cannot be shared).
	Store string
	// ReplicaEnv are extra KEY=VALUE settings for spawned replicas
	// (e.g. PAPERCAST_WS_SEND_BUFFER=512); they win over loadgen's own.
	ReplicaEnv []string

	Sessions int
	Papers   int
	// Rate is upserts/deletes per second per session; PresenceRate is
	// presence updates per second per session.
	Rate         float64
	PresenceRate float64

	// Idle is how long the sessions sit connected and silent before the
	// load starts, for the idle RSS per session.
	Idle time.Duration
	// Warmup runs the load unmeasured; Duration is the measured window.
	Warmup   time.Duration
	Duration time.Duration
	// Drain is how long to wait after the last send for the last acks and
	// deliveries before counting what is lost.
	Drain time.Duration
	// Batch asks for ?batch=1 sessions: events that queue up for a
	// session come newline-separated in one frame.
	Batch bool
	// JoinConcurrency bounds the dials in flight.
	JoinConcurrency int
	// Seed makes the payloads and jitter reproducible.
	Seed uint64
}

// Defaults are the values the command line starts from.
func Defaults() Config {
	return Config{
		Store:           "redis",
		Sessions:        1000,
		Papers:          100,
		Rate:            1,
		PresenceRate:    0.2,
		Idle:            3 * time.Second,
		Warmup:          5 * time.Second,
		Duration:        20 * time.Second,
		Drain:           10 * time.Second,
		JoinConcurrency: 64,
		Seed:            1,
		Batch:           true,
	}
}

// Validate says what is wrong with the config, all at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	switch {
	case len(c.Targets) == 0 && c.Spawn == 0:
		bad("give --targets URL,URL or --spawn R")
	case len(c.Targets) > 0 && c.Spawn > 0:
		bad("give --targets or --spawn, not both")
	case c.Spawn < 0:
		bad("--spawn must be positive, got %d", c.Spawn)
	}
	for _, t := range c.Targets {
		u, err := url.Parse(t)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("target %q is not an http(s)://host:port URL", t)
		}
	}
	if len(c.Pids) > 0 && len(c.Pids) != len(c.Targets) {
		bad("--pids needs one pid per target (%d targets, %d pids)", len(c.Targets), len(c.Pids))
	}
	if c.Spawn > 0 && c.Bin == "" {
		bad("--bin is required with --spawn")
	}
	switch c.Store {
	case "redis":
	case "memory":
		if c.Spawn > 1 {
			bad("--store memory works with --spawn 1 only: replicas would not share papers")
		}
	default:
		bad("--store must be redis or memory, got %q", c.Store)
	}
	for _, kv := range c.ReplicaEnv {
		if !strings.Contains(kv, "=") {
			bad("replica env %q is not KEY=VALUE", kv)
		}
	}
	if c.Sessions < 1 || c.Papers < 1 {
		bad("--sessions and --papers must be at least 1")
	}
	if c.Papers > c.Sessions {
		bad("--papers (%d) must not exceed --sessions (%d)", c.Papers, c.Sessions)
	}
	if c.Rate < 0 || c.PresenceRate < 0 {
		bad("--rate and --presence-rate must not be negative")
	}
	if c.Duration <= 0 {
		bad("--duration must be positive")
	}
	if c.Warmup < 0 || c.Idle < 0 || c.Drain < 0 {
		bad("--warmup, --idle and --drain must not be negative")
	}
	if c.JoinConcurrency < 1 {
		bad("--join-concurrency must be at least 1")
	}
	return errors.Join(errs...)
}
