package app

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"

	"github.com/papercast/papercast/card"
	"github.com/papercast/papercast/delivery/guestauth"
	"github.com/papercast/papercast/delivery/jwtauth"
	"github.com/papercast/papercast/delivery/rest"
	"github.com/papercast/papercast/delivery/ws"
	"github.com/papercast/papercast/moderation"
	"github.com/papercast/papercast/paper"
	"github.com/papercast/papercast/repository/memory"
	redisstore "github.com/papercast/papercast/repository/redis"
	"github.com/papercast/papercast/usecase"
)

// Config is every setting of papercast, read from config.yaml and
// PAPERCAST_<SECTION>_<KEY> environment variables (env wins).
type Config struct {
	Server  ServerConfig  `mapstructure:"server"`
	Store   string        `mapstructure:"store"`
	Redis   RedisConfig   `mapstructure:"redis"`
	History HistoryConfig `mapstructure:"history"`
	// Retention is how long stored papers are kept.
	Retention RetentionConfig `mapstructure:"retention"`
	Presence  PresenceConfig  `mapstructure:"presence"`
	Limits    LimitsConfig    `mapstructure:"limits"`
	WS        WSConfig        `mapstructure:"ws"`
	Log       LogConfig       `mapstructure:"log"`
	Admin     AdminConfig     `mapstructure:"admin"`
	Auth      AuthConfig      `mapstructure:"auth"`
	Card      CardConfig      `mapstructure:"card"`
	// Moderation is the content filter (moderation.Config).
	Moderation ModerationConfig `mapstructure:"moderation"`
	// Archive is where finalized papers move (issue 11).
	Archive ArchiveConfig `mapstructure:"archive"`
}

// Archive drivers.
const (
	ArchiveNone     = "none"
	ArchiveSQLite   = "sqlite"
	ArchivePostgres = "postgres"
)

// ArchiveConfig is the durable home of finalized papers and the archiver
// that moves them there (usecase.Archiver).
type ArchiveConfig struct {
	Driver string `mapstructure:"driver"`
	// DSN is a PostgreSQL connection string, or an SQLite file path. It
	// may hold a password: it is never logged nor put in an error.
	DSN         string        `mapstructure:"dsn"`
	KeepInRedis time.Duration `mapstructure:"keep_in_redis"`
	Lease       time.Duration `mapstructure:"lease"`
	Poll        time.Duration `mapstructure:"poll"`
	Batch       int           `mapstructure:"batch"`
	MaxBackoff  time.Duration `mapstructure:"max_backoff"`
	Timeout     time.Duration `mapstructure:"timeout"`
}

// archiverOptions configure the archiver.
func (c Config) archiverOptions() usecase.ArchiverOptions {
	a := c.Archive
	return usecase.ArchiverOptions{
		Poll: a.Poll, Batch: a.Batch, Lease: a.Lease, Keep: a.KeepInRedis,
		MaxBackoff: a.MaxBackoff, Timeout: a.Timeout,
	}
}

// ServerConfig is the HTTP listener.
type ServerConfig struct {
	Addr            string        `mapstructure:"addr"`
	TLSCert         string        `mapstructure:"tls_cert"`
	TLSKey          string        `mapstructure:"tls_key"`
	ShutdownTimeout time.Duration `mapstructure:"shutdown_timeout"`
	AllowedOrigins  []string      `mapstructure:"allowed_origins"`
	Dev             bool          `mapstructure:"dev"`
	BodyLimit       int64         `mapstructure:"body_limit"`
}

// RedisConfig selects and reaches the Redis deployment.
type RedisConfig struct {
	Addrs     []string      `mapstructure:"addrs"`
	Mode      string        `mapstructure:"mode"`
	MasterSet string        `mapstructure:"master_set"`
	Username  string        `mapstructure:"username"`
	Password  string        `mapstructure:"password"`
	DB        int           `mapstructure:"db"`
	TLS       bool          `mapstructure:"tls"`
	KeyPrefix string        `mapstructure:"key_prefix"`
	Timeout   time.Duration `mapstructure:"timeout"`
	// WaitReplicas > 0: writes are acked only once that many replicas
	// have them (WAIT); WaitTimeout bounds that wait.
	WaitReplicas int           `mapstructure:"wait_replicas"`
	WaitTimeout  time.Duration `mapstructure:"wait_timeout"`
}

// HistoryConfig bounds each paper's op history (what resume can replay).
type HistoryConfig struct {
	Size int `mapstructure:"size"`
}

// RetentionConfig is how long stored papers are kept.
type RetentionConfig struct {
	// OpenIdle: an open paper nobody touches (no op, join or finalize) for
	// this long is dropped with all its data (Redis: between 1x and 1.5x).
	OpenIdle time.Duration `mapstructure:"open_idle"`
}

// PresenceConfig is the who-is-here expiry.
type PresenceConfig struct {
	TTL            time.Duration `mapstructure:"ttl"`
	Heartbeat      time.Duration `mapstructure:"heartbeat"`
	CoalesceAbove  int           `mapstructure:"coalesce_above"`
	Flush          time.Duration `mapstructure:"flush"`
	BudgetPerPaper int           `mapstructure:"budget_per_paper"`
}

// LimitsConfig bounds what clients may do.
type LimitsConfig struct {
	MaxFields           int     `mapstructure:"max_fields"`
	MaxValueBytes       int     `mapstructure:"max_value_bytes"`
	MaxElementBytes     int     `mapstructure:"max_element_bytes"`
	MaxElements         int     `mapstructure:"max_elements"`
	MaxPresenceBytes    int     `mapstructure:"max_presence_bytes"`
	MaxTitleChars       int     `mapstructure:"max_title_chars"`
	MaxToChars          int     `mapstructure:"max_to_chars"`
	OpsPerSecond        float64 `mapstructure:"ops_per_second"`
	OpsBurst            int     `mapstructure:"ops_burst"`
	PresencePerSecond   float64 `mapstructure:"presence_per_second"`
	AbuseStrikes        int     `mapstructure:"abuse_strikes"`
	CreatesPerMinute    float64 `mapstructure:"creates_per_minute"`
	CreatesBurst        int     `mapstructure:"creates_burst"`
	MaxSessionsPerPaper int     `mapstructure:"max_sessions_per_paper"`
	MaxConnections      int     `mapstructure:"max_connections"`
	MaxOpsInFlight      int     `mapstructure:"max_ops_in_flight"`
}

// WSConfig tunes WebSocket sessions.
type WSConfig struct {
	MaxFrameBytes   int64         `mapstructure:"max_frame_bytes"`
	SendBuffer      int           `mapstructure:"send_buffer"`
	SendBufferBytes int           `mapstructure:"send_buffer_bytes"`
	WriteWait       time.Duration `mapstructure:"write_wait"`
	PongWait        time.Duration `mapstructure:"pong_wait"`
}

// LogConfig selects the log output.
type LogConfig struct {
	Level  string `mapstructure:"level"`
	Format string `mapstructure:"format"`
}

// AdminConfig guards the operator surfaces.
type AdminConfig struct {
	Token string   `mapstructure:"token"`
	Pprof bool     `mapstructure:"pprof"`
	Peers []string `mapstructure:"peers"`
}

// AuthConfig is who a session is: JWT identities, or (without JWT) guest
// tokens the server signs itself.
type AuthConfig struct {
	JWT JWTConfig `mapstructure:"jwt"`
	// GuestSecret signs guest tokens (at least 32 bytes; replicas share
	// it). Empty: each process generates its own at start.
	GuestSecret string `mapstructure:"guest_secret"`
	// GuestSecretPrevious still verify tokens after a rotation.
	GuestSecretPrevious []string `mapstructure:"guest_secret_previous"`
	// TrustQueryUser takes `?user=` as is without a token (protocol v1's
	// behaviour): development and test harnesses only.
	TrustQueryUser bool `mapstructure:"trust_query_user"`
}

// ModerationConfig is the content filter: blocked words, and what happens
// to text that holds one.
type ModerationConfig struct {
	BlockedWords     []string `mapstructure:"blocked_words"`
	BlockedWordsFile string   `mapstructure:"blocked_words_file"`
	Policy           string   `mapstructure:"policy"`
}

// JWTConfig is HMAC-signed tokens issued by the app's main backend.
type JWTConfig struct {
	HMACSecret string `mapstructure:"hmac_secret"`
}

// CardConfig bounds the rendering of finished cards
// (GET /v1/papers/{id}/card.png and card.pdf).
type CardConfig struct {
	// FontsRegular and FontsBold are font files in fallback order.
	FontsRegular  []string      `mapstructure:"fonts_regular"`
	FontsBold     []string      `mapstructure:"fonts_bold"`
	MaxNotes      int           `mapstructure:"max_notes"`
	MaxPixels     int           `mapstructure:"max_pixels"`
	Workers       int           `mapstructure:"workers"`
	MaxQueue      int           `mapstructure:"max_queue"`
	QueueWait     time.Duration `mapstructure:"queue_wait"`
	RenderTimeout time.Duration `mapstructure:"render_timeout"`
	CacheBytes    int64         `mapstructure:"cache_bytes"`
}

// CardOptions are the card renderer's options from the config.
func (c Config) CardOptions() card.Options {
	q := c.Card.MaxQueue
	if q == 0 {
		q = -1 // card.Options reads 0 as "the default"; here it means none
	}
	return card.Options{
		Regular: c.Card.FontsRegular, Bold: c.Card.FontsBold,
		MaxNotes: c.Card.MaxNotes, MaxPixels: c.Card.MaxPixels,
		Workers: c.Card.Workers, MaxQueue: q, QueueWait: c.Card.QueueWait,
	}
}

// Defaults is the configuration when nothing is set. Each package owns the
// defaults of its own settings (paper.DefaultLimits, usecase.DefaultHubOptions,
// ws.DefaultOptions, the stores' DefaultOptions) and Defaults takes them from
// there; only the settings app itself applies are set here. config.yaml
// repeats every value with the reason for it (a test keeps them equal).
func Defaults() Config {
	l := paper.DefaultLimits()
	hub := usecase.DefaultHubOptions()
	arch := usecase.DefaultArchiverOptions()
	wso := ws.DefaultOptions()
	rd := redisstore.DefaultOptions()
	return Config{
		Server: ServerConfig{
			Addr: ":8080", ShutdownTimeout: 15 * time.Second, AllowedOrigins: []string{},
			BodyLimit: rest.DefaultBodyLimit,
		},
		Store: "memory",
		Redis: RedisConfig{
			Addrs: []string{"127.0.0.1:6379"}, Mode: rd.Mode, KeyPrefix: rd.KeyPrefix, Timeout: rd.CommandTimeout,
			WaitReplicas: rd.WaitReplicas, WaitTimeout: rd.WaitTimeout,
		},
		History:   HistoryConfig{Size: usecase.DefaultHistorySize},
		Retention: RetentionConfig{OpenIdle: usecase.DefaultOpenIdle},
		Presence: PresenceConfig{
			TTL: usecase.DefaultPresenceTTL, Heartbeat: hub.PresenceHeartbeat,
			CoalesceAbove: hub.PresenceImmediateBelow, Flush: hub.PresenceFlush, BudgetPerPaper: hub.PresenceBudget,
		},
		Limits: LimitsConfig{
			MaxFields: l.MaxFields, MaxValueBytes: l.MaxValueBytes, MaxElementBytes: l.MaxElementBytes,
			MaxElements: l.MaxElements, MaxPresenceBytes: l.MaxPresenceBytes,
			MaxTitleChars: l.MaxTitleChars, MaxToChars: l.MaxToChars,
			OpsPerSecond: wso.OpsPerSecond, OpsBurst: wso.OpsBurst,
			PresencePerSecond: wso.PresencePerSecond, AbuseStrikes: wso.AbuseStrikes,
			CreatesPerMinute: 30, CreatesBurst: 10,
			MaxSessionsPerPaper: hub.MaxSessionsPerPaper, MaxConnections: hub.MaxSessions,
			MaxOpsInFlight: hub.MaxOpsInFlight,
		},
		WS: WSConfig{
			MaxFrameBytes: wso.MaxFrameBytes, SendBuffer: wso.SendBuffer, SendBufferBytes: wso.SendBufferBytes,
			WriteWait: wso.WriteWait, PongWait: wso.PongWait,
		},
		Log:   LogConfig{Level: "info", Format: "text"},
		Admin: AdminConfig{Peers: []string{}},
		Card: CardConfig{
			FontsRegular: card.DefaultRegular, FontsBold: card.DefaultBold,
			MaxNotes: card.DefaultMaxNotes, MaxPixels: card.DefaultMaxPixels,
			Workers: card.DefaultWorkers, MaxQueue: card.DefaultMaxQueue, QueueWait: card.DefaultQueueWait,
			RenderTimeout: card.DefaultRenderTimeout, CacheBytes: card.DefaultCacheBytes,
		},
		Auth: AuthConfig{GuestSecretPrevious: []string{}},
		Moderation: ModerationConfig{
			BlockedWords: []string{}, Policy: string(moderation.Reject),
		},
		Archive: ArchiveConfig{
			Driver: ArchiveNone, KeepInRedis: arch.Keep, Lease: arch.Lease, Poll: arch.Poll,
			Batch: arch.Batch, MaxBackoff: arch.MaxBackoff, Timeout: arch.Timeout,
		},
	}
}

// PaperLimits are the paper rules' limits from the config.
func (c Config) PaperLimits() paper.Limits {
	return paper.Limits{
		MaxFields: c.Limits.MaxFields, MaxValueBytes: c.Limits.MaxValueBytes, MaxElementBytes: c.Limits.MaxElementBytes,
		MaxElements: c.Limits.MaxElements, MaxPresenceBytes: c.Limits.MaxPresenceBytes,
		MaxTitleChars: c.Limits.MaxTitleChars, MaxToChars: c.Limits.MaxToChars,
	}
}

// memoryOptions configure the embedded store.
func (c Config) memoryOptions() memory.Options {
	return memory.Options{Limits: c.PaperLimits(), HistorySize: c.History.Size, PresenceTTL: c.Presence.TTL, OpenIdle: c.Retention.OpenIdle}
}

// redisOptions configure the Redis store (without an observer).
func (c Config) redisOptions() redisstore.Options {
	return redisstore.Options{
		Addrs: c.Redis.Addrs, Mode: c.Redis.Mode, MasterSet: c.Redis.MasterSet,
		Username: c.Redis.Username, Password: c.Redis.Password, DB: c.Redis.DB, TLS: c.Redis.TLS,
		KeyPrefix: c.Redis.KeyPrefix, HistorySize: c.History.Size, PresenceTTL: c.Presence.TTL,
		OpenIdle: c.Retention.OpenIdle,
		Limits:   c.PaperLimits(), DialTimeout: c.Redis.Timeout, CommandTimeout: c.Redis.Timeout,
		WaitReplicas: c.Redis.WaitReplicas, WaitTimeout: c.Redis.WaitTimeout,
	}
}

// hubOptions configure the hub.
func (c Config) hubOptions() usecase.HubOptions {
	return usecase.HubOptions{
		MaxSessionsPerPaper:    c.Limits.MaxSessionsPerPaper,
		MaxSessions:            c.Limits.MaxConnections,
		PresenceHeartbeat:      c.Presence.Heartbeat,
		StoreTimeout:           c.Redis.Timeout,
		MaxOpsInFlight:         c.Limits.MaxOpsInFlight,
		PresenceImmediateBelow: c.Presence.CoalesceAbove,
		PresenceFlush:          c.Presence.Flush,
		PresenceBudget:         c.Presence.BudgetPerPaper,
	}
}

// wsOptions configure the WebSocket delivery (identity from the query, until
// JWT mode sets Identify).
func (c Config) wsOptions() ws.Options {
	return ws.Options{
		MaxFrameBytes:     c.WS.MaxFrameBytes,
		SendBuffer:        c.WS.SendBuffer,
		SendBufferBytes:   c.WS.SendBufferBytes,
		WriteWait:         c.WS.WriteWait,
		PongWait:          c.WS.PongWait,
		OpsPerSecond:      c.Limits.OpsPerSecond,
		OpsBurst:          c.Limits.OpsBurst,
		PresencePerSecond: c.Limits.PresencePerSecond,
		AbuseStrikes:      c.Limits.AbuseStrikes,
		CheckOrigin: func(r *http.Request) bool {
			return rest.OriginAllowed(r.Header.Get("Origin"), r.Host, c.Server.AllowedOrigins, c.Server.Dev)
		},
	}
}

// Keys lists every config key (section.key), in the order of Config: the
// keys config.yaml must hold, and the PAPERCAST_<SECTION>_<KEY> variables.
func Keys() []string {
	var keys []string
	eachKey(reflect.ValueOf(Config{}), "", func(key string, _ reflect.Value) { keys = append(keys, key) })
	return keys
}

// eachKey calls fn for every leaf setting of the struct val with its key.
func eachKey(val reflect.Value, prefix string, fn func(key string, v reflect.Value)) {
	t := val.Type()
	for i := 0; i < t.NumField(); i++ {
		key := t.Field(i).Tag.Get("mapstructure")
		if prefix != "" {
			key = prefix + "." + key
		}
		if f := val.Field(i); f.Kind() == reflect.Struct {
			eachKey(f, key, fn)
		} else {
			fn(key, f)
		}
	}
}

// Load reads the config file (path, or ./config.yaml when path is empty and
// it exists) and the environment, then validates the result.
func Load(path string) (Config, error) {
	v := viper.New()
	// Unmarshal only sees environment variables for keys viper already
	// knows: register every key with its default.
	eachKey(reflect.ValueOf(Defaults()), "", func(key string, val reflect.Value) { v.SetDefault(key, val.Interface()) })
	v.SetEnvPrefix("PAPERCAST")
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv()
	if path == "" {
		if _, err := os.Stat("config.yaml"); err == nil {
			path = "config.yaml"
		}
	}
	if path != "" {
		v.SetConfigFile(path)
		if err := v.ReadInConfig(); err != nil {
			return Config{}, fmt.Errorf("read config %s: %w", path, err)
		}
	}
	if err := unknownKeys(v.AllKeys()); err != nil {
		return Config{}, err
	}
	var c Config
	err := v.Unmarshal(&c, viper.DecodeHook(mapstructure.ComposeDecodeHookFunc(
		mapstructure.StringToTimeDurationHookFunc(),
		mapstructure.StringToSliceHookFunc(","),
	)))
	if err != nil {
		return Config{}, errors.Join(keyErrors(err, v.Get)...)
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// unknownKeys reports keys of the config file that papercast does not have
// (a typo would otherwise leave the default in force without a word).
func unknownKeys(keys []string) error {
	known := map[string]bool{}
	for _, k := range Keys() {
		known[k] = true
		for i := range k {
			if k[i] == '.' {
				known[k[:i]] = true // a section with the wrong shape fails to decode instead
			}
		}
	}
	var errs []error
	for _, k := range keys {
		if !known[k] {
			errs = append(errs, fmt.Errorf("config %s: unknown key (config.yaml lists every key)", k))
		}
	}
	return errors.Join(errs...)
}

// keyErrors turns mapstructure's decode errors (a value of the wrong type)
// into one "config <key>: <value>: ..." error per key; value looks a key's
// value up. (Only strings are secret, and a string never fails to decode.)
func keyErrors(err error, value func(key string) any) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, keyErrors(e, value)...)
		}
		return out
	}
	var de *mapstructure.DecodeError
	if errors.As(err, &de) {
		var nested *mapstructure.DecodeError
		if errors.As(de.Unwrap(), &nested) {
			return keyErrors(de.Unwrap(), value)
		}
		if de.Name() == "" {
			return []error{fmt.Errorf("config: %w", de.Unwrap())}
		}
		return []error{fmt.Errorf("config %s: %q: %w", de.Name(), fmt.Sprint(value(de.Name())), de.Unwrap())}
	}
	if u := errors.Unwrap(err); u != nil {
		return keyErrors(u, value)
	}
	return []error{fmt.Errorf("config: %w", err)}
}

// Validate reports every bad value, each as "config <key>: <what would be
// right>", so one message names exactly the key to fix.
func (c Config) Validate() error {
	var v validator
	if _, _, err := net.SplitHostPort(c.Server.Addr); err != nil {
		v.bad("server.addr", "%q is not host:port (e.g. \":8080\")", c.Server.Addr)
	}
	if c.Server.TLSCert != "" && c.Server.TLSKey == "" {
		v.bad("server.tls_cert", "is set without server.tls_key: set both, or neither")
	}
	if c.Server.TLSKey != "" && c.Server.TLSCert == "" {
		v.bad("server.tls_key", "is set without server.tls_cert: set both, or neither")
	}
	positive(&v, "server.shutdown_timeout", c.Server.ShutdownTimeout)
	for _, o := range c.Server.AllowedOrigins {
		if err := rest.CheckAllowedOrigin(o); err != nil {
			v.bad("server.allowed_origins", "%v", err)
		}
	}
	atLeast(&v, "server.body_limit", c.Server.BodyLimit, 1024)
	v.oneOf("store", c.Store, "memory", "redis")

	if c.Store == "redis" && len(c.Redis.Addrs) == 0 {
		v.bad("redis.addrs", "needs at least one host:port")
	}
	for _, a := range c.Redis.Addrs {
		if _, _, err := net.SplitHostPort(a); err != nil {
			v.bad("redis.addrs", "%q is not host:port", a)
		}
	}
	v.oneOf("redis.mode", c.Redis.Mode, redisstore.ModeAuto, redisstore.ModeStandalone, redisstore.ModeSentinel, redisstore.ModeCluster)
	switch {
	case c.Redis.Mode == redisstore.ModeSentinel && c.Redis.MasterSet == "":
		v.bad("redis.master_set", "is required in sentinel mode")
	case c.Redis.MasterSet != "" && (c.Redis.Mode == redisstore.ModeStandalone || c.Redis.Mode == redisstore.ModeCluster):
		v.bad("redis.master_set", "only applies to sentinel (or auto) mode, and redis.mode is %s", c.Redis.Mode)
	}
	switch {
	case c.Redis.DB < 0:
		v.bad("redis.db", "must not be negative, got %d", c.Redis.DB)
	case c.Redis.DB != 0 && c.Redis.Mode == redisstore.ModeCluster:
		v.bad("redis.db", "must be 0 in cluster mode (a cluster has only db 0), got %d", c.Redis.DB)
	}
	if err := redisstore.CheckKeyPrefix(c.Redis.KeyPrefix); err != nil {
		v.bad("redis.key_prefix", "%v", err)
	}
	positive(&v, "redis.timeout", c.Redis.Timeout)
	if c.Redis.WaitReplicas < 0 {
		v.bad("redis.wait_replicas", "must not be negative, got %d", c.Redis.WaitReplicas)
	}
	switch {
	case c.Redis.WaitTimeout < time.Millisecond:
		v.bad("redis.wait_timeout", "must be at least 1ms (WAIT counts whole milliseconds), got %v", c.Redis.WaitTimeout)
	case c.Redis.WaitReplicas > 0 && c.Redis.WaitTimeout >= c.Redis.Timeout:
		v.bad("redis.wait_timeout", "must be under redis.timeout (%v), which bounds a write and its wait together, got %v", c.Redis.Timeout, c.Redis.WaitTimeout)
	}

	atLeast(&v, "history.size", c.History.Size, 1)
	atLeast(&v, "retention.open_idle", c.Retention.OpenIdle, time.Hour)

	ttl := atLeast(&v, "presence.ttl", c.Presence.TTL, time.Millisecond)
	if positive(&v, "presence.heartbeat", c.Presence.Heartbeat) && ttl && c.Presence.Heartbeat >= c.Presence.TTL {
		v.bad("presence.heartbeat", "must be shorter than presence.ttl (%s), got %s", c.Presence.TTL, c.Presence.Heartbeat)
	}
	atLeast(&v, "presence.coalesce_above", c.Presence.CoalesceAbove, 1)
	positive(&v, "presence.flush", c.Presence.Flush)
	atLeast(&v, "presence.budget_per_paper", c.Presence.BudgetPerPaper, 1)

	if err := c.PaperLimits().Validate(); err != nil {
		for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
			var le *paper.LimitError
			if errors.As(e, &le) {
				v.bad("limits."+le.Limit, "%s", le.Problem)
			} else {
				v.bad("limits", "%v", e)
			}
		}
	}
	positive(&v, "limits.ops_per_second", c.Limits.OpsPerSecond)
	atLeast(&v, "limits.ops_burst", c.Limits.OpsBurst, 1)
	positive(&v, "limits.presence_per_second", c.Limits.PresencePerSecond)
	atLeast(&v, "limits.abuse_strikes", c.Limits.AbuseStrikes, 1)
	positive(&v, "limits.creates_per_minute", c.Limits.CreatesPerMinute)
	atLeast(&v, "limits.creates_burst", c.Limits.CreatesBurst, 1)
	atLeast(&v, "limits.max_sessions_per_paper", c.Limits.MaxSessionsPerPaper, 1)
	atLeast(&v, "limits.max_connections", c.Limits.MaxConnections, 1)
	atLeast(&v, "limits.max_ops_in_flight", c.Limits.MaxOpsInFlight, 1)

	atLeast(&v, "ws.max_frame_bytes", c.WS.MaxFrameBytes, 1024)
	atLeast(&v, "ws.send_buffer", c.WS.SendBuffer, 8)
	atLeast(&v, "ws.send_buffer_bytes", c.WS.SendBufferBytes, 64<<10)
	positive(&v, "ws.write_wait", c.WS.WriteWait)
	positive(&v, "ws.pong_wait", c.WS.PongWait)

	v.oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	v.oneOf("log.format", c.Log.Format, "text", "json")

	for _, p := range c.Admin.Peers {
		if u, err := url.Parse(p); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.bad("admin.peers", "%q is not a base URL (http(s)://host[:port])", p)
		}
	}
	if s := c.Auth.JWT.HMACSecret; s != "" {
		if _, err := jwtauth.New(s); err != nil {
			v.bad("auth.jwt.hmac_secret", "%v", err)
		}
	}
	if n := len(c.Auth.GuestSecret); n > 0 && n < guestauth.MinSecretLen {
		v.bad("auth.guest_secret", "must be at least %d bytes (or empty: one per process), got %d", guestauth.MinSecretLen, n)
	}
	for i, old := range c.Auth.GuestSecretPrevious {
		if len(old) < guestauth.MinSecretLen {
			v.bad("auth.guest_secret_previous", "entry %d must be at least %d bytes, got %d", i+1, guestauth.MinSecretLen, len(old))
		}
	}
	if _, err := moderation.ParsePolicy(c.Moderation.Policy); err != nil {
		v.bad("moderation.policy", "must be reject or mask, got %q", c.Moderation.Policy)
	}
	if f := c.Moderation.BlockedWordsFile; f != "" {
		// Checked here, not only when read: a server must not start
		// without the filter it was configured with.
		if _, err := os.Stat(f); err != nil {
			v.bad("moderation.blocked_words_file", "%v", err)
		}
	}

	v.fontList("card.fonts_regular", c.Card.FontsRegular)
	v.fontList("card.fonts_bold", c.Card.FontsBold)
	atLeast(&v, "card.max_notes", c.Card.MaxNotes, 1)
	atLeast(&v, "card.max_pixels", c.Card.MaxPixels, 1<<20)
	atLeast(&v, "card.workers", c.Card.Workers, 1)
	atLeast(&v, "card.max_queue", c.Card.MaxQueue, 0)
	positive(&v, "card.queue_wait", c.Card.QueueWait)
	positive(&v, "card.render_timeout", c.Card.RenderTimeout)
	atLeast(&v, "card.cache_bytes", c.Card.CacheBytes, 0)
	c.validateArchive(&v)
	return errors.Join(v.errs...)
}

// validateArchive checks the archive.* keys. No message holds the DSN: it
// may hold a password.
func (c Config) validateArchive(v *validator) {
	a := c.Archive
	v.oneOf("archive.driver", a.Driver, ArchiveNone, ArchiveSQLite, ArchivePostgres)
	switch {
	case a.Driver == ArchiveNone && a.DSN != "":
		v.bad("archive.dsn", "is set, but archive.driver is none: set the driver (sqlite or postgres), or unset the dsn")
	case a.Driver == ArchiveSQLite || a.Driver == ArchivePostgres:
		if strings.TrimSpace(a.DSN) == "" {
			what := "a PostgreSQL connection string (postgres://user@host:5432/db)"
			if a.Driver == ArchiveSQLite {
				what = "the SQLite file's path (e.g. data/papercast.db)"
			}
			v.bad("archive.dsn", "is required with archive.driver %s: %s", a.Driver, what)
		}
	}
	atLeast(v, "archive.keep_in_redis", a.KeepInRedis, 0)
	if positive(v, "archive.timeout", a.Timeout) && positive(v, "archive.lease", a.Lease) && a.Lease <= a.Timeout {
		v.bad("archive.lease", "must be longer than archive.timeout (%s), got %s: a lease shorter than one call hands a paper to a second archiver while the first still writes it", a.Timeout, a.Lease)
	}
	if positive(v, "archive.poll", a.Poll) && positive(v, "archive.max_backoff", a.MaxBackoff) && a.MaxBackoff < a.Poll {
		v.bad("archive.max_backoff", "must be at least archive.poll (%s), got %s", a.Poll, a.MaxBackoff)
	}
	atLeast(v, "archive.batch", a.Batch, 1)
}

// validator collects one error per bad key.
type validator struct{ errs []error }

func (v *validator) bad(key, format string, args ...any) {
	v.errs = append(v.errs, fmt.Errorf("config %s: %s", key, fmt.Sprintf(format, args...)))
}

func (v *validator) oneOf(key, got string, allowed ...string) {
	if !slices.Contains(allowed, got) {
		v.bad(key, "must be one of %s, got %q", strings.Join(allowed, ", "), got)
	}
}

// fontList reports key unless files is a non-empty list of paths (whether
// they exist is checked, and logged, when the server starts).
func (v *validator) fontList(key string, files []string) {
	if len(files) == 0 {
		v.bad(key, "needs at least one font file")
	}
	for _, f := range files {
		if strings.TrimSpace(f) == "" {
			v.bad(key, "has an empty font file name")
			return
		}
	}
}

type number interface {
	~int | ~int64 | ~float64
}

// atLeast reports key unless got >= least, and says whether it was.
func atLeast[T number](v *validator, key string, got, least T) bool {
	if got < least {
		v.bad(key, "must be at least %v, got %v", least, got)
		return false
	}
	return true
}

// positive reports key unless got > 0, and says whether it was.
func positive[T number](v *validator, key string, got T) bool {
	if got <= 0 {
		v.bad(key, "must be positive, got %v", got)
		return false
	}
	return true
}
