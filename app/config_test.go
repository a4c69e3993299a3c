package app_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/papercast/papercast/app"
)

// TestEveryKeyHasAnEnvOverride guards viper's trap: Unmarshal ignores env
// vars for keys it does not know.
func TestEveryKeyHasAnEnvOverride(t *testing.T) {
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
		{"PAPERCAST_PRESENCE_TTL", "60s", func(c app.Config) any { return c.Presence.TTL }, time.Minute},
		{"PAPERCAST_LIMITS_OPS_PER_SECOND", "5.5", func(c app.Config) any { return c.Limits.OpsPerSecond }, 5.5},
		{"PAPERCAST_LIMITS_MAX_ELEMENTS", "10", func(c app.Config) any { return c.Limits.MaxElements }, 10},
		{"PAPERCAST_WS_SEND_BUFFER", "64", func(c app.Config) any { return c.WS.SendBuffer }, 64},
		{"PAPERCAST_LOG_FORMAT", "json", func(c app.Config) any { return c.Log.Format }, "json"},
		{"PAPERCAST_ADMIN_TOKEN", "tok", func(c app.Config) any { return c.Admin.Token }, "tok"},
		{"PAPERCAST_CARD_FONTS_REGULAR", "/f/a.ttf,/f/b.ttf", func(c app.Config) any { return c.Card.FontsRegular }, []string{"/f/a.ttf", "/f/b.ttf"}},
		{"PAPERCAST_CARD_WORKERS", "3", func(c app.Config) any { return c.Card.Workers }, 3},
		{"PAPERCAST_CARD_QUEUE_WAIT", "1s", func(c app.Config) any { return c.Card.QueueWait }, time.Second},
		{"PAPERCAST_CARD_CACHE_BYTES", "1048576", func(c app.Config) any { return c.Card.CacheBytes }, int64(1 << 20)},
		{"PAPERCAST_AUTH_JWT_HMAC_SECRET", "0123456789abcdef0123456789abcdef", func(c app.Config) any { return c.Auth.JWT.HMACSecret }, "0123456789abcdef0123456789abcdef"},
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

func TestConfigYAMLMatchesDefaults(t *testing.T) {
	c, err := app.Load("../config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, app.Defaults()) {
		t.Fatalf("config.yaml and Defaults() disagree:\n%+v\n%+v", c, app.Defaults())
	}
}

func TestBadConfigNamesTheKey(t *testing.T) {
	tests := []struct{ env, value, key string }{
		{"PAPERCAST_STORE", "postgres", "store"},
		{"PAPERCAST_SERVER_ADDR", "nonsense", "server.addr"},
		{"PAPERCAST_REDIS_MODE", "ring", "redis.mode"},
		{"PAPERCAST_HISTORY_SIZE", "0", "history.size"},
		{"PAPERCAST_PRESENCE_HEARTBEAT", "1m", "presence.heartbeat"},
		{"PAPERCAST_LOG_LEVEL", "loud", "log.level"},
		{"PAPERCAST_SERVER_TLS_CERT", "/x.pem", "server.tls_cert"},
		{"PAPERCAST_WS_SEND_BUFFER", "2", "ws.send_buffer"},
		{"PAPERCAST_CARD_WORKERS", "0", "card.workers"},
		{"PAPERCAST_CARD_MAX_PIXELS", "1000", "card.max_pixels"},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			t.Setenv(tt.env, tt.value)
			_, err := app.Load("../config.yaml")
			if err == nil || !strings.Contains(err.Error(), tt.key) {
				t.Fatalf("err = %v, want it to name %s", err, tt.key)
			}
		})
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
