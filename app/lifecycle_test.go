package app_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/papercast/papercast/app"
)

// freeClosedPort returns a loopback address nothing listens on.
func freeClosedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestNewLeavesNothingRunningWhenItFails: every way New can fail returns
// with no goroutine of the replica left behind (the hub's presence loops,
// store subscriptions, Redis connections).
func TestNewLeavesNothingRunningWhenItFails(t *testing.T) {
	quiet := slog.New(slog.DiscardHandler)
	tests := []struct {
		name string
		set  func(c *app.Config)
	}{
		{"BadValue", func(c *app.Config) { c.WS.SendBuffer = 1 }},
		// Once refused only by the HTTP side, after the hub was running;
		// now Validate refuses it before anything starts.
		{"ShortJWTSecret", func(c *app.Config) { c.Auth.JWT.HMACSecret = "too-short" }},
		// Standalone: in auto mode rueidis's cluster client also schedules
		// a topology refresh that outlives the failed New by up to 1 s
		// (singleflight.go, DelayDo): not ours, and it ends by itself.
		{"RedisUnreachable", func(c *app.Config) {
			c.Store, c.Redis.Mode = "redis", "standalone"
			c.Redis.Addrs, c.Redis.Timeout = []string{freeClosedPort(t)}, time.Second
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			cfg := app.Defaults()
			cfg.Server.Addr = "127.0.0.1:0"
			tt.set(&cfg)
			if a, err := app.New(context.Background(), cfg, quiet); err == nil {
				_ = a.Shutdown(context.Background())
				t.Fatal("New succeeded")
			}
		})
	}
}

// TestRunLeavesNothingRunningWhenListenFails: a replica that cannot listen
// stops what New started before Run returns the error.
func TestRunLeavesNothingRunningWhenListenFails(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	cfg := app.Defaults()
	cfg.Server.Addr = taken.Addr().String()
	if err := app.Run(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil {
		t.Fatal("Run served on a taken address")
	}
}
