package redis_test

import (
	"context"
	"testing"
	"time"

	"github.com/papercast/papercast/internal/redistest"
	"github.com/papercast/papercast/repository/redis"
)

// TestSentinelModeFindsTheMasterThroughSentinel: with Mode sentinel the
// addresses are the sentinels'; the store and the bus work on the master
// they report.
func TestSentinelModeFindsTheMasterThroughSentinel(t *testing.T) {
	t.Parallel()
	master := redistest.Start(t)
	sentinel := redistest.StartSentinel(t, master)
	s := newStore(t, redis.Options{Addrs: []string{sentinel.Addr()}, Mode: redis.ModeSentinel, MasterSet: redistest.SentinelMasterSet})
	if s.Sharded() {
		t.Fatal("sentinel mode uses sharded pub/sub")
	}
	ctx := context.Background()
	p := newPaper(t, s)
	h := subscribe(t, s, p.ID)
	h.waitFrame(t, apply(t, s, p.ID, upsert("n1", "v", "1")), 5*time.Second)
	if err := s.Ready(ctx); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	if got := channels(t, master, "PUBSUB", "CHANNELS", "test:*"); len(got) != 1 || got[0] != s.Channel(p.ID) {
		t.Fatalf("master's PUBSUB CHANNELS = %q", got)
	}
	if got := channels(t, master, "KEYS", "test:{"+p.ID+"}:meta"); len(got) != 1 {
		t.Fatalf("the paper is not on the master: %q", got)
	}
}

// TestClusterModeRefusesAStandaloneServer: asking for a cluster and getting
// a single server is a configuration error, reported at start.
func TestClusterModeRefusesAStandaloneServer(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	s, err := redis.New(context.Background(), redis.Options{Addrs: []string{srv.Addr()}, Mode: redis.ModeCluster}, nil)
	if err == nil {
		s.Close()
		t.Fatal("cluster mode accepted a standalone server")
	}
}

// TestAutoModeDetectsTheCluster: auto mode on a cluster uses sharded pub/sub.
func TestAutoModeDetectsTheCluster(t *testing.T) {
	t.Parallel()
	c := redistest.StartCluster(t)
	s := newStore(t, redis.Options{Addrs: c.Addrs()})
	if !s.Sharded() {
		t.Fatal("auto mode on a cluster does not use sharded pub/sub")
	}
	p := newPaper(t, s)
	h := subscribe(t, s, p.ID)
	h.waitFrame(t, apply(t, s, p.ID, upsert("n1", "v", "1")), 5*time.Second)
}
