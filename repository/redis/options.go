package redis

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/redis/rueidis"

	"github.com/papercast/papercast/paper"
	"github.com/papercast/papercast/usecase"
)

// Topologies for Options.Mode.
const (
	// ModeAuto lets rueidis decide: a sentinel client when MasterSet is set,
	// otherwise a cluster client if the server is a cluster, else standalone.
	ModeAuto       = "auto"
	ModeStandalone = "standalone"
	ModeSentinel   = "sentinel"
	ModeCluster    = "cluster"
)

// DefaultOptions are the settings used for unset Options (every field but
// the addresses has one); config.yaml gives the reason for each.
func DefaultOptions() Options {
	return Options{
		Mode:           ModeAuto,
		KeyPrefix:      "pc:",
		HistorySize:    usecase.DefaultHistorySize,
		PresenceTTL:    usecase.DefaultPresenceTTL,
		OpenIdle:       usecase.DefaultOpenIdle,
		Limits:         paper.DefaultLimits(),
		DialTimeout:    5 * time.Second,
		CommandTimeout: 5 * time.Second,
		WaitTimeout:    500 * time.Millisecond,
	}
}

// maxWaitConns caps the dedicated connections that acknowledged writes
// hold while WAIT blocks on them (WaitReplicas > 0): one per write in
// flight, so past this many writes wait for a connection (within their
// CommandTimeout) instead of opening thousands of sockets.
const maxWaitConns = 256

// Options configure the Redis store, presence store and bus. Zero values
// take DefaultOptions.
type Options struct {
	// Addrs are host:port addresses: the server, any cluster nodes (seeds),
	// or the sentinels when MasterSet is set.
	Addrs []string
	// Mode is "auto" (or empty), "standalone", "sentinel" or "cluster".
	// Cluster mode uses sharded pub/sub (SSUBSCRIBE/SPUBLISH).
	Mode string
	// MasterSet is the sentinel master set name (sentinel mode).
	MasterSet string
	// Username and Password authenticate to Redis (ACL / requirepass).
	// The password is never logged.
	Username string
	Password string
	// DB is the logical database (standalone and sentinel only).
	DB int
	// TLS connects with TLS (server name from the address, TLS 1.2+).
	TLS bool
	// KeyPrefix starts every key and channel name (default "pc:"). It must
	// not contain '{' or '}' (they would break the per-paper hash tag).
	KeyPrefix string
	// HistorySize is how many event frames each paper keeps for resume
	// (default 1000).
	HistorySize int
	// PresenceTTL is how long a presence entry lives without a touch
	// (default 30s).
	PresenceTTL time.Duration
	// OpenIdle is how long an open paper stays in Redis untouched (no op,
	// join or finalize) before all its keys expire (default 720h). The
	// keys' expiry is renewed to 1.5x OpenIdle whenever less than OpenIdle
	// is left, so a paper lives between OpenIdle and 1.5x OpenIdle idle.
	OpenIdle time.Duration
	// Limits are the paper limits Apply enforces (zero value: paper.DefaultLimits()).
	Limits paper.Limits
	// DialTimeout bounds connecting to Redis (default 5s).
	DialTimeout time.Duration
	// CommandTimeout bounds each store call and each (un)subscribe, on top of
	// the caller's context, so a hung Redis gives ErrUnavailable instead of
	// a hang. It is also the connections' read/write timeout, so a silent
	// Redis is noticed (and the bus reports not ready) within about this
	// long (default 5s).
	CommandTimeout time.Duration
	// WaitReplicas, when above 0, makes every write that takes a seq (an
	// op, a finalize, a policy change, a ban, a delete, an epoch renewal)
	// wait with WAIT until that many replicas of the master have it before
	// it is acknowledged; fewer within WaitTimeout gives ErrUnavailable
	// (the write may still have landed on the master). 0: writes are acked
	// as soon as the master has them, and a failover can lose the last ones.
	WaitReplicas int
	// WaitTimeout bounds each WAIT (default 500ms).
	WaitTimeout time.Duration
	// Observer, when set, receives command timings and resubscriptions.
	Observer Observer
}

func (o Options) withDefaults() (Options, error) {
	o.Addrs = append([]string(nil), o.Addrs...)
	d := DefaultOptions()
	if o.Mode == "" {
		o.Mode = d.Mode
	}
	if o.KeyPrefix == "" {
		o.KeyPrefix = d.KeyPrefix
	}
	if o.HistorySize == 0 {
		o.HistorySize = d.HistorySize
	}
	if o.PresenceTTL == 0 {
		o.PresenceTTL = d.PresenceTTL
	}
	if o.OpenIdle == 0 {
		o.OpenIdle = d.OpenIdle
	}
	if o.Limits == (paper.Limits{}) {
		o.Limits = d.Limits
	}
	if o.DialTimeout == 0 {
		o.DialTimeout = d.DialTimeout
	}
	if o.CommandTimeout == 0 {
		o.CommandTimeout = d.CommandTimeout
	}
	if o.WaitTimeout == 0 {
		o.WaitTimeout = d.WaitTimeout
	}

	var errs []error
	if len(o.Addrs) == 0 {
		errs = append(errs, errors.New("no addresses"))
	}
	switch o.Mode {
	case ModeAuto, ModeStandalone, ModeCluster:
	case ModeSentinel:
		if o.MasterSet == "" {
			errs = append(errs, errors.New("sentinel mode needs a master set"))
		}
	default:
		errs = append(errs, fmt.Errorf("unknown mode %q (want auto, standalone, sentinel or cluster)", o.Mode))
	}
	if o.Mode == ModeCluster && o.DB != 0 {
		errs = append(errs, errors.New("a cluster has only db 0"))
	}
	if o.DB < 0 {
		errs = append(errs, fmt.Errorf("db %d is negative", o.DB))
	}
	if err := CheckKeyPrefix(o.KeyPrefix); err != nil {
		errs = append(errs, err)
	}
	if o.HistorySize < 1 {
		errs = append(errs, fmt.Errorf("history size %d must be at least 1", o.HistorySize))
	}
	if o.PresenceTTL < time.Millisecond {
		errs = append(errs, fmt.Errorf("presence ttl %v is too short", o.PresenceTTL))
	}
	if o.DialTimeout < 0 || o.CommandTimeout < 0 {
		errs = append(errs, errors.New("timeouts must be positive"))
	}
	if o.WaitReplicas < 0 {
		errs = append(errs, fmt.Errorf("wait replicas %d is negative", o.WaitReplicas))
	}
	if o.WaitTimeout < time.Millisecond {
		errs = append(errs, fmt.Errorf("wait timeout %v is under a millisecond (WAIT counts whole milliseconds)", o.WaitTimeout))
	}
	if o.WaitReplicas > 0 && o.WaitTimeout >= o.CommandTimeout {
		errs = append(errs, fmt.Errorf("wait timeout %v must be under the command timeout %v, which bounds the write and its WAIT together", o.WaitTimeout, o.CommandTimeout))
	}
	if err := o.Limits.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return o, fmt.Errorf("redis options: %w", err)
	}
	return o, nil
}

// CheckKeyPrefix reports a key prefix that would break the per-paper hash
// tag (a '{' or '}' in it).
func CheckKeyPrefix(prefix string) error {
	if strings.ContainsAny(prefix, "{}") {
		return fmt.Errorf("key prefix %q must not contain { or }", prefix)
	}
	return nil
}

// LogValue makes slog print Options without the password.
func (o Options) LogValue() slog.Value {
	pw := ""
	if o.Password != "" {
		pw = "[redacted]"
	}
	return slog.GroupValue(
		slog.Any("addrs", o.Addrs),
		slog.String("mode", o.Mode),
		slog.String("master_set", o.MasterSet),
		slog.String("username", o.Username),
		slog.String("password", pw),
		slog.Int("db", o.DB),
		slog.Bool("tls", o.TLS),
		slog.String("key_prefix", o.KeyPrefix),
		slog.Int("history_size", o.HistorySize),
		slog.Duration("presence_ttl", o.PresenceTTL),
		slog.Int("wait_replicas", o.WaitReplicas),
		slog.Duration("wait_timeout", o.WaitTimeout),
	)
}

// String is LogValue for fmt: Options printed with %v never show the password.
func (o Options) String() string { return o.LogValue().String() }

// clientOption is the rueidis configuration for the command client.
func (o Options) clientOption() rueidis.ClientOption {
	co := rueidis.ClientOption{
		InitAddress: append([]string(nil), o.Addrs...),
		Username:    o.Username,
		Password:    o.Password,
		SelectDB:    o.DB,
		// No client-side caching: every read must see the latest write.
		DisableCache:     true,
		Dialer:           net.Dialer{Timeout: o.DialTimeout},
		ConnWriteTimeout: o.CommandTimeout,
		// Run every connection's reader from the start (not only once
		// commands overlap): a connection Redis closed (restart, failover)
		// is then noticed and replaced at once, instead of failing the
		// first write after Redis is back.
		AlwaysPipelining: true,
	}
	if o.WaitReplicas > 0 {
		co.BlockingPoolSize = maxWaitConns
	}
	if o.TLS {
		co.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	switch o.Mode {
	case ModeStandalone:
		co.ForceSingleClient = true
	case ModeSentinel:
		co.Sentinel = rueidis.SentinelOption{MasterSet: o.MasterSet, Dialer: co.Dialer, TLSConfig: co.TLSConfig}
	case ModeAuto:
		if o.MasterSet != "" {
			co.Sentinel = rueidis.SentinelOption{MasterSet: o.MasterSet, Dialer: co.Dialer, TLSConfig: co.TLSConfig}
		}
	}
	return co
}
