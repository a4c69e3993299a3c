package app_test

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/viper"

	"github.com/papercast/papercast/app"
	"github.com/papercast/papercast/delivery/ws"
	"github.com/papercast/papercast/paper"
	"github.com/papercast/papercast/repository/memory"
	redisstore "github.com/papercast/papercast/repository/redis"
	"github.com/papercast/papercast/usecase"
)

// TestEveryKeyHasAnEnvOverride guards viper's trap: Unmarshal ignores env
// vars for keys it does not know.
func TestEveryKeyHasAnEnvOverride(t *testing.T) {
	words := filepath.Join(t.TempDir(), "words.txt")
	if err := os.WriteFile(words, []byte("darn\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		env, value string
		got        func(app.Config) any
		want       any
	}{
		{"PAPERCAST_SERVER_ADDR", "127.0.0.1:9999", func(c app.Config) any { return c.Server.Addr }, "127.0.0.1:9999"},
		{"PAPERCAST_SERVER_SHUTDOWN_TIMEOUT", "3s", func(c app.Config) any { return c.Server.ShutdownTimeout }, 3 * time.Second},
		{"PAPERCAST_SERVER_ALLOWED_ORIGINS", "https://a.example,https://b.example", func(c app.Config) any { return c.Server.AllowedOrigins }, []string{"https://a.example", "https://b.example"}},
		{"PAPERCAST_SERVER_DEV", "true", func(c app.Config) any { return c.Server.Dev }, true},
		{"PAPERCAST_STORE", "redis", func(c app.Config) any { return c.Store }, "redis"},
		{"PAPERCAST_REDIS_ADDRS", "10.0.0.1:6379,10.0.0.2:6379", func(c app.Config) any { return c.Redis.Addrs }, []string{"10.0.0.1:6379", "10.0.0.2:6379"}},
		{"PAPERCAST_REDIS_MODE", "cluster", func(c app.Config) any { return c.Redis.Mode }, "cluster"},
		{"PAPERCAST_REDIS_PASSWORD", "s3cret", func(c app.Config) any { return c.Redis.Password }, "s3cret"},
		{"PAPERCAST_REDIS_DB", "3", func(c app.Config) any { return c.Redis.DB }, 3},
		{"PAPERCAST_REDIS_TLS", "true", func(c app.Config) any { return c.Redis.TLS }, true},
		{"PAPERCAST_REDIS_KEY_PREFIX", "x:", func(c app.Config) any { return c.Redis.KeyPrefix }, "x:"},
		{"PAPERCAST_HISTORY_SIZE", "50", func(c app.Config) any { return c.History.Size }, 50},
		{"PAPERCAST_RETENTION_OPEN_IDLE", "2h", func(c app.Config) any { return c.Retention.OpenIdle }, 2 * time.Hour},
		{"PAPERCAST_PRESENCE_TTL", "60s", func(c app.Config) any { return c.Presence.TTL }, time.Minute},
		{"PAPERCAST_LIMITS_OPS_PER_SECOND", "5.5", func(c app.Config) any { return c.Limits.OpsPerSecond }, 5.5},
		{"PAPERCAST_LIMITS_MAX_ELEMENTS", "10", func(c app.Config) any { return c.Limits.MaxElements }, 10},
		{"PAPERCAST_WS_SEND_BUFFER", "64", func(c app.Config) any { return c.WS.SendBuffer }, 64},
		{"PAPERCAST_WS_SEND_BUFFER_BYTES", "1048576", func(c app.Config) any { return c.WS.SendBufferBytes }, 1 << 20},
		{"PAPERCAST_LOG_FORMAT", "json", func(c app.Config) any { return c.Log.Format }, "json"},
		{"PAPERCAST_ADMIN_TOKEN", "tok", func(c app.Config) any { return c.Admin.Token }, "tok"},
		{"PAPERCAST_CARD_FONTS_REGULAR", "/f/a.ttf,/f/b.ttf", func(c app.Config) any { return c.Card.FontsRegular }, []string{"/f/a.ttf", "/f/b.ttf"}},
		{"PAPERCAST_CARD_WORKERS", "3", func(c app.Config) any { return c.Card.Workers }, 3},
		{"PAPERCAST_CARD_QUEUE_WAIT", "1s", func(c app.Config) any { return c.Card.QueueWait }, time.Second},
		{"PAPERCAST_CARD_CACHE_BYTES", "1048576", func(c app.Config) any { return c.Card.CacheBytes }, int64(1 << 20)},
		{"PAPERCAST_AUTH_JWT_HMAC_SECRET", "0123456789abcdef0123456789abcdef", func(c app.Config) any { return c.Auth.JWT.HMACSecret }, "0123456789abcdef0123456789abcdef"},
		{"PAPERCAST_AUTH_GUEST_SECRET", "0123456789abcdef0123456789abcdef", func(c app.Config) any { return c.Auth.GuestSecret }, "0123456789abcdef0123456789abcdef"},
		{"PAPERCAST_AUTH_GUEST_SECRET_PREVIOUS", "0123456789abcdef0123456789abcdef,fedcba9876543210fedcba9876543210", func(c app.Config) any { return c.Auth.GuestSecretPrevious }, []string{"0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"}},
		{"PAPERCAST_AUTH_TRUST_QUERY_USER", "true", func(c app.Config) any { return c.Auth.TrustQueryUser }, true},
		{"PAPERCAST_MODERATION_BLOCKED_WORDS", "darn,a bad phrase", func(c app.Config) any { return c.Moderation.BlockedWords }, []string{"darn", "a bad phrase"}},
		{"PAPERCAST_MODERATION_BLOCKED_WORDS_FILE", words, func(c app.Config) any { return c.Moderation.BlockedWordsFile }, words},
		{"PAPERCAST_MODERATION_POLICY", "mask", func(c app.Config) any { return c.Moderation.Policy }, "mask"},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			t.Setenv(tt.env, tt.value)
			c, err := app.Load("../config.yaml")
			if err != nil {
				t.Fatal(err)
			}
			if got := tt.got(c); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

// TestConfigYAMLMatchesDefaults: config.yaml holds every key, with the
// value papercast uses when the key is not set (app.Defaults, which takes
// each package's own defaults).
func TestConfigYAMLMatchesDefaults(t *testing.T) {
	v := viper.New()
	v.SetConfigFile("../config.yaml")
	if err := v.ReadInConfig(); err != nil {
		t.Fatal(err)
	}
	inFile := v.AllKeys()
	for _, key := range app.Keys() {
		if !slices.Contains(inFile, key) {
			t.Errorf("config.yaml lacks %s (with its default and the reason for it)", key)
		}
	}
	for _, key := range inFile {
		if !slices.Contains(app.Keys(), key) {
			t.Errorf("config.yaml has %s, which is not a key of Config", key)
		}
	}
	c, err := app.Load("../config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, app.Defaults()) {
		t.Fatalf("config.yaml and Defaults() disagree:\n%+v\n%+v", c, app.Defaults())
	}
}

// TestDefaultsAreThePackagesDefaults: app.Defaults, mapped to each package's
// options, gives back that package's own defaults (so no default is
// repeated in app, and no setting is mapped to the wrong option).
func TestDefaultsAreThePackagesDefaults(t *testing.T) {
	d := app.Defaults()
	if got := d.PaperLimits(); got != paper.DefaultLimits() {
		t.Errorf("limits: %+v, want paper.DefaultLimits() %+v", got, paper.DefaultLimits())
	}
	hub := app.HubOptions(d)
	hub.JoinBuffer = usecase.DefaultHubOptions().JoinBuffer // not a config key
	// DeepEqual: HubOptions holds a clock func, so it is not comparable.
	if !reflect.DeepEqual(hub, usecase.DefaultHubOptions()) {
		t.Errorf("hub: %+v, want usecase.DefaultHubOptions() %+v", hub, usecase.DefaultHubOptions())
	}
	wso := app.WSOptions(d)
	wso.CheckOrigin, wso.Identify = nil, nil
	if !reflect.DeepEqual(wso, ws.DefaultOptions()) {
		t.Errorf("ws: %+v, want ws.DefaultOptions() %+v", wso, ws.DefaultOptions())
	}
	rd := app.RedisOptions(d)
	rd.Addrs, rd.Observer = nil, nil // no default; not a setting
	if !reflect.DeepEqual(rd, redisstore.DefaultOptions()) {
		t.Errorf("redis: %+v, want redisstore.DefaultOptions() %+v", rd, redisstore.DefaultOptions())
	}
	mem := app.MemoryOptions(d)
	want := memory.DefaultOptions()
	mem.Now, want.Now = nil, nil
	if !reflect.DeepEqual(mem, want) {
		t.Errorf("memory: %+v, want memory.DefaultOptions() %+v", mem, want)
	}
}

// badValue is a value a key must refuse, tried with the environment in with
// (valid settings of other keys that make the value bad, if any).
type badValue struct {
	value string
	with  map[string]string
}

// badValues has, for every config key, values Load must refuse; every key
// with none is in anyValue with the reason. TestEveryKeyHasABadValue keeps
// both complete.
var badValues = map[string][]badValue{
	"server.addr":             {{value: "nonsense"}},
	"server.tls_cert":         {{value: "/x/cert.pem"}},
	"server.tls_key":          {{value: "/x/key.pem"}},
	"server.shutdown_timeout": {{value: "0s"}, {value: "soon"}},
	"server.allowed_origins":  {{value: "https://ok.example,app.example.com"}},
	"server.dev":              {{value: "maybe"}},
	"server.body_limit":       {{value: "1000"}, {value: "64k"}},
	"store":                   {{value: "postgres"}},
	"redis.addrs":             {{value: "nonsense"}, {value: "127.0.0.1:6379,127.0.0.2"}},
	"redis.mode":              {{value: "ring"}},
	"redis.master_set": {
		{value: "", with: map[string]string{"redis.mode": "sentinel"}},
		{value: "mymaster", with: map[string]string{"redis.mode": "cluster"}},
	},
	"redis.db":                      {{value: "-1"}, {value: "2", with: map[string]string{"redis.mode": "cluster"}}, {value: "one"}},
	"redis.tls":                     {{value: "maybe"}},
	"redis.key_prefix":              {{value: "pc:{x}:"}},
	"redis.timeout":                 {{value: "0s"}, {value: "-1s"}},
	"redis.wait_replicas":           {{value: "-1"}, {value: "two"}},
	"redis.wait_timeout":            {{value: "0s"}, {value: "-1s"}, {value: "5s", with: map[string]string{"redis.wait_replicas": "1"}}, {value: "soon"}},
	"history.size":                  {{value: "0"}, {value: "many"}},
	"retention.open_idle":           {{value: "59m"}, {value: "0s"}, {value: "forever"}},
	"presence.ttl":                  {{value: "0s"}},
	"presence.heartbeat":            {{value: "0s"}, {value: "1m"}, {value: "5s", with: map[string]string{"presence.ttl": "5s"}}},
	"presence.coalesce_above":       {{value: "0"}},
	"presence.flush":                {{value: "0s"}},
	"presence.budget_per_paper":     {{value: "0"}},
	"limits.max_fields":             {{value: "0"}},
	"limits.max_value_bytes":        {{value: "3"}},
	"limits.max_element_bytes":      {{value: "0"}, {value: "4095"}},
	"limits.max_elements":           {{value: "0"}},
	"limits.max_presence_bytes":     {{value: "1"}},
	"limits.max_title_chars":        {{value: "0"}},
	"limits.max_to_chars":           {{value: "0"}},
	"limits.ops_per_second":         {{value: "0"}, {value: "-1.5"}},
	"limits.ops_burst":              {{value: "0"}},
	"limits.presence_per_second":    {{value: "0"}},
	"limits.abuse_strikes":          {{value: "0"}},
	"limits.creates_per_minute":     {{value: "0"}},
	"limits.creates_burst":          {{value: "0"}},
	"limits.max_sessions_per_paper": {{value: "0"}},
	"limits.max_connections":        {{value: "0"}},
	"limits.max_ops_in_flight":      {{value: "0"}},
	"ws.max_frame_bytes":            {{value: "1000"}},
	"ws.send_buffer":                {{value: "2"}},
	"ws.send_buffer_bytes":          {{value: "1024"}},
	"ws.write_wait":                 {{value: "0s"}},
	"ws.pong_wait":                  {{value: "0s"}},
	"log.level":                     {{value: "loud"}},
	"log.format":                    {{value: "xml"}},
	"admin.pprof":                   {{value: "maybe"}},
	"admin.peers":                   {{value: "replica-2:8080"}},
	"auth.jwt.hmac_secret":          {{value: "too-short"}},
	"card.fonts_regular":            {{value: ","}, {value: "/f/a.ttf, "}},
	"card.fonts_bold":               {{value: ","}},
	"card.max_notes":                {{value: "0"}},
	"card.max_pixels":               {{value: "1000"}},
	"card.workers":                  {{value: "0"}},
	"card.max_queue":                {{value: "-1"}},
	"card.queue_wait":               {{value: "0s"}},
	"card.render_timeout":           {{value: "0s"}},
	"card.cache_bytes":              {{value: "-1"}},
	"auth.guest_secret":             {{value: "too-short"}},
	"auth.guest_secret_previous":    {{value: "0123456789abcdef0123456789abcdef,short"}},
	"auth.trust_query_user":         {{value: "maybe"}},
	"moderation.blocked_words_file": {{value: "/nonexistent/blocked-words.txt"}},
	"moderation.policy":             {{value: "shame"}},
	"archive.driver":                {{value: "mysql"}},
	"archive.dsn": {
		{value: "", with: map[string]string{"archive.driver": "postgres"}},
		{value: " ", with: map[string]string{"archive.driver": "sqlite"}},
		{value: "data/papercast.db"}, // driver none
	},
	"archive.keep_in_redis": {{value: "-1s"}, {value: "forever"}},
	"archive.lease":         {{value: "0s"}, {value: "5s", with: map[string]string{"archive.timeout": "5s"}}},
	"archive.poll":          {{value: "0s"}},
	"archive.batch":         {{value: "0"}},
	"archive.max_backoff":   {{value: "0s"}, {value: "500ms", with: map[string]string{"archive.poll": "1s"}}},
	"archive.timeout":       {{value: "0s"}, {value: "soon"}},
}

// anyValue are the keys that accept every value, and why.
var anyValue = map[string]string{
	"redis.username":           "any string is an ACL user name; Redis checks it when papercast connects",
	"redis.password":           "any string is a password; Redis checks it when papercast connects",
	"admin.token":              "any string is a token (empty turns the admin pages off)",
	"moderation.blocked_words": "any list of words and phrases (blank entries are skipped; empty turns the filter off)",
}

func envName(key string) string {
	return "PAPERCAST_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// blamedKeys returns the keys an error from Load names as bad: every line
// of the message must read "config <key>: ...".
func blamedKeys(t *testing.T, err error) []string {
	t.Helper()
	var keys []string
	for _, line := range strings.Split(err.Error(), "\n") {
		rest, ok := strings.CutPrefix(line, "config ")
		key, _, found := strings.Cut(rest, ": ")
		if !ok || !found || strings.ContainsAny(key, " \t") {
			t.Fatalf("error line %q does not name a key as \"config <key>: ...\" (whole error: %v)", line, err)
		}
		keys = append(keys, key)
	}
	return keys
}

func TestEveryKeyHasABadValue(t *testing.T) {
	for _, key := range app.Keys() {
		_, bad := badValues[key]
		_, any := anyValue[key]
		if bad == any {
			t.Errorf("key %s: list bad values for it in badValues, or say in anyValue why it has none (not both)", key)
		}
	}
	known := map[string]bool{}
	for _, key := range app.Keys() {
		known[key] = true
	}
	for key := range badValues {
		if !known[key] {
			t.Errorf("badValues lists %s, which is not a config key", key)
		}
	}
	for key := range anyValue {
		if !known[key] {
			t.Errorf("anyValue lists %s, which is not a config key", key)
		}
	}
}

// TestBadValueNamesExactlyItsKey: a bad value of any key stops Load with a
// message that names that key, and no other as bad.
func TestBadValueNamesExactlyItsKey(t *testing.T) {
	for _, key := range app.Keys() {
		for _, bv := range badValues[key] {
			t.Run(fmt.Sprintf("%s=%q", key, bv.value), func(t *testing.T) {
				for k, v := range bv.with {
					t.Setenv(envName(k), v)
				}
				t.Setenv(envName(key), bv.value)
				_, err := app.Load("../config.yaml")
				if err == nil {
					t.Fatalf("%s=%q (with %v) accepted", envName(key), bv.value, bv.with)
				}
				if got := blamedKeys(t, err); !slices.Equal(got, []string{key}) {
					t.Fatalf("error blames %v, want exactly [%s]:\n%v", got, key, err)
				}
			})
		}
	}
}

// TestUnknownKeyInTheFileIsAnError: a misspelt key would otherwise leave the
// default in force without a word.
func TestUnknownKeyInTheFileIsAnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte("limits:\n  max_to_char: 50\nws:\n  send_buffer: 64\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := app.Load(path)
	if err == nil {
		t.Fatal("unknown key accepted")
	}
	if got := blamedKeys(t, err); !slices.Equal(got, []string{"limits.max_to_char"}) {
		t.Fatalf("error blames %v, want [limits.max_to_char]: %v", got, err)
	}
}

func TestMissingConfigFileIsAnError(t *testing.T) {
	if _, err := app.Load(filepath.Join(t.TempDir(), "nope.yaml")); err == nil || !os.IsNotExist(unwrapAll(err)) {
		t.Fatalf("err = %v", err)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		next := u.Unwrap()
		if next == nil {
			return err
		}
		err = next
	}
}
