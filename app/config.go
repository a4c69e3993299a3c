package app

import (
	"errors"
	"fmt"
	"net"
	"os"
	"reflect"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"

	"github.com/papercast/papercast/card"
	"github.com/papercast/papercast/paper"
	"github.com/papercast/papercast/usecase"
)

// Config is every setting of papercast, read from config.yaml and
// PAPERCAST_<SECTION>_<KEY> environment variables (env wins).
type Config struct {
	Server   ServerConfig   `mapstructure:"server"`
	Store    string         `mapstructure:"store"`
	Redis    RedisConfig    `mapstructure:"redis"`
	History  HistoryConfig  `mapstructure:"history"`
	Presence PresenceConfig `mapstructure:"presence"`
	Limits   LimitsConfig   `mapstructure:"limits"`
	WS       WSConfig       `mapstructure:"ws"`
	Log      LogConfig      `mapstructure:"log"`
	Admin    AdminConfig    `mapstructure:"admin"`
	Auth     AuthConfig     `mapstructure:"auth"`
	Card     CardConfig     `mapstructure:"card"`
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
}

// HistoryConfig bounds each paper's op history (what resume can replay).
type HistoryConfig struct {
	Size int `mapstructure:"size"`
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
	MaxFrameBytes int64         `mapstructure:"max_frame_bytes"`
	SendBuffer    int           `mapstructure:"send_buffer"`
	WriteWait     time.Duration `mapstructure:"write_wait"`
	PongWait      time.Duration `mapstructure:"pong_wait"`
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

// AuthConfig enables JWT identities.
type AuthConfig struct {
	JWT JWTConfig `mapstructure:"jwt"`
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

// Defaults is the configuration when nothing is set; config.yaml repeats it
// with the reason for each value.
func Defaults() Config {
	l := paper.DefaultLimits()
	return Config{
		Server: ServerConfig{Addr: ":8080", ShutdownTimeout: 15 * time.Second, BodyLimit: 64 << 10, AllowedOrigins: []string{}},
		Store:  "memory",
		Redis: RedisConfig{
			Addrs: []string{"127.0.0.1:6379"}, Mode: "auto", KeyPrefix: "pc:", Timeout: 5 * time.Second,
		},
		History:  HistoryConfig{Size: 1000},
		Presence: PresenceConfig{TTL: 30 * time.Second, Heartbeat: 10 * time.Second, CoalesceAbove: 32, Flush: 50 * time.Millisecond, BudgetPerPaper: 2000},
		Limits: LimitsConfig{
			MaxFields: l.MaxFields, MaxValueBytes: l.MaxValueBytes, MaxElementBytes: l.MaxElementBytes,
			MaxElements: l.MaxElements, MaxPresenceBytes: l.MaxPresenceBytes, MaxTitleChars: l.MaxTitleChars,
			OpsPerSecond: 30, OpsBurst: 60, PresencePerSecond: 20, AbuseStrikes: 100,
			CreatesPerMinute: 30, CreatesBurst: 10,
			MaxSessionsPerPaper: 1000, MaxConnections: 20000,
			MaxOpsInFlight: usecase.DefaultMaxOpsInFlight,
		},
		WS:    WSConfig{MaxFrameBytes: 32 << 10, SendBuffer: 128, WriteWait: 10 * time.Second, PongWait: 60 * time.Second},
		Log:   LogConfig{Level: "info", Format: "text"},
		Admin: AdminConfig{Peers: []string{}},
		Card: CardConfig{
			FontsRegular: card.DefaultRegular, FontsBold: card.DefaultBold,
			MaxNotes: card.DefaultMaxNotes, MaxPixels: card.DefaultMaxPixels,
			Workers: card.DefaultWorkers, MaxQueue: card.DefaultMaxQueue, QueueWait: card.DefaultQueueWait,
			RenderTimeout: card.DefaultRenderTimeout, CacheBytes: card.DefaultCacheBytes,
		},
	}
}

// PaperLimits are the paper rules' limits from the config.
func (c Config) PaperLimits() paper.Limits {
	return paper.Limits{
		MaxFields: c.Limits.MaxFields, MaxValueBytes: c.Limits.MaxValueBytes, MaxElementBytes: c.Limits.MaxElementBytes,
		MaxElements: c.Limits.MaxElements, MaxPresenceBytes: c.Limits.MaxPresenceBytes,
		MaxTitleChars: c.Limits.MaxTitleChars, MaxToChars: c.Limits.MaxTitleChars,
	}
}

// Load reads the config file (path, or ./config.yaml when path is empty and
// it exists) and the environment, then validates the result.
func Load(path string) (Config, error) {
	v := viper.New()
	setDefaults(v, "", reflect.ValueOf(Defaults()))
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
	var c Config
	err := v.Unmarshal(&c, viper.DecodeHook(mapstructure.ComposeDecodeHookFunc(
		mapstructure.StringToTimeDurationHookFunc(),
		mapstructure.StringToSliceHookFunc(","),
	)))
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// setDefaults registers every key of the struct with viper: Unmarshal only
// sees environment variables for keys viper already knows.
func setDefaults(v *viper.Viper, prefix string, val reflect.Value) {
	t := val.Type()
	for i := 0; i < t.NumField(); i++ {
		key := t.Field(i).Tag.Get("mapstructure")
		if prefix != "" {
			key = prefix + "." + key
		}
		f := val.Field(i)
		if f.Kind() == reflect.Struct {
			setDefaults(v, key, f)
			continue
		}
		v.SetDefault(key, f.Interface())
	}
}

// Validate reports the first bad value with what would be right.
func (c Config) Validate() error {
	var errs []error
	bad := func(key string, format string, args ...any) {
		errs = append(errs, fmt.Errorf("config %s: "+format, append([]any{key}, args...)...))
	}
	if _, _, err := net.SplitHostPort(c.Server.Addr); err != nil {
		bad("server.addr", "%q is not host:port (e.g. \":8080\")", c.Server.Addr)
	}
	if (c.Server.TLSCert == "") != (c.Server.TLSKey == "") {
		bad("server.tls_cert", "set both server.tls_cert and server.tls_key, or neither")
	}
	if c.Server.ShutdownTimeout <= 0 {
		bad("server.shutdown_timeout", "must be positive, got %s", c.Server.ShutdownTimeout)
	}
	if c.Server.BodyLimit < 1024 {
		bad("server.body_limit", "must be at least 1024 bytes, got %d", c.Server.BodyLimit)
	}
	switch c.Store {
	case "memory", "redis":
	default:
		bad("store", "must be memory or redis, got %q", c.Store)
	}
	switch c.Redis.Mode {
	case "auto", "standalone", "sentinel", "cluster":
	default:
		bad("redis.mode", "must be auto, standalone, sentinel or cluster, got %q", c.Redis.Mode)
	}
	if c.Store == "redis" && len(c.Redis.Addrs) == 0 {
		bad("redis.addrs", "needs at least one host:port")
	}
	if c.Redis.Mode == "sentinel" && c.Redis.MasterSet == "" {
		bad("redis.master_set", "is required in sentinel mode")
	}
	if c.Redis.Timeout <= 0 {
		bad("redis.timeout", "must be positive")
	}
	if c.History.Size < 1 {
		bad("history.size", "must be at least 1, got %d", c.History.Size)
	}
	if c.Presence.TTL <= 0 || c.Presence.Heartbeat <= 0 || c.Presence.Heartbeat >= c.Presence.TTL {
		bad("presence.heartbeat", "must be positive and shorter than presence.ttl (%s), got %s", c.Presence.TTL, c.Presence.Heartbeat)
	}
	if c.Presence.CoalesceAbove < 1 || c.Presence.Flush <= 0 || c.Presence.BudgetPerPaper < 1 {
		bad("presence.coalesce_above", "presence coalescing settings must be positive")
	}
	if err := c.PaperLimits().Validate(); err != nil {
		bad("limits", "%v", err)
	}
	if c.Limits.OpsPerSecond <= 0 || c.Limits.OpsBurst < 1 || c.Limits.PresencePerSecond <= 0 || c.Limits.AbuseStrikes < 1 {
		bad("limits.ops_per_second", "rate limits must be positive")
	}
	if c.Limits.CreatesPerMinute <= 0 || c.Limits.CreatesBurst < 1 {
		bad("limits.creates_per_minute", "paper creation limits must be positive")
	}
	if c.Limits.MaxSessionsPerPaper < 1 || c.Limits.MaxConnections < 1 {
		bad("limits.max_connections", "session limits must be at least 1")
	}
	if c.Limits.MaxOpsInFlight < 1 {
		bad("limits.max_ops_in_flight", "must be at least 1, got %d", c.Limits.MaxOpsInFlight)
	}
	if c.WS.MaxFrameBytes < 1024 {
		bad("ws.max_frame_bytes", "must be at least 1024, got %d", c.WS.MaxFrameBytes)
	}
	if c.WS.SendBuffer < 8 {
		bad("ws.send_buffer", "must be at least 8, got %d", c.WS.SendBuffer)
	}
	if c.WS.WriteWait <= 0 || c.WS.PongWait <= 0 {
		bad("ws.pong_wait", "timeouts must be positive")
	}
	if len(c.Card.FontsRegular) == 0 || len(c.Card.FontsBold) == 0 {
		bad("card.fonts_regular", "card.fonts_regular and card.fonts_bold each need at least one font file")
	}
	if c.Card.MaxNotes < 1 || c.Card.MaxPixels < 1<<20 {
		bad("card.max_pixels", "card.max_notes must be at least 1 and card.max_pixels at least 1048576, got %d and %d", c.Card.MaxNotes, c.Card.MaxPixels)
	}
	if c.Card.Workers < 1 || c.Card.MaxQueue < 0 {
		bad("card.workers", "card.workers must be at least 1 and card.max_queue not negative, got %d and %d", c.Card.Workers, c.Card.MaxQueue)
	}
	if c.Card.QueueWait <= 0 || c.Card.RenderTimeout <= 0 || c.Card.CacheBytes < 0 {
		bad("card.render_timeout", "card.queue_wait and card.render_timeout must be positive and card.cache_bytes not negative")
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "must be debug, info, warn or error, got %q", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		bad("log.format", "must be text or json, got %q", c.Log.Format)
	}
	return errors.Join(errs...)
}
