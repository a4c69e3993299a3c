package redis_test

import (
	"time"

	"testing"

	"github.com/papercast/papercast/internal/redistest"
	"github.com/papercast/papercast/repository/redis"
	"github.com/papercast/papercast/repository/storetest"
)

// contractTTL is the presence TTL of the contract runs: the suite sleeps in
// real time for expiry, so it is short, but well above scheduling hiccups.
const contractTTL = 400 * time.Millisecond

func contractEnv(addrs []string, mode string) func(t *testing.T) storetest.Env {
	return func(t *testing.T) storetest.Env {
		idle := storetest.RetentionIdle(t)
		s := newStore(t, redis.Options{
			Addrs:       addrs,
			Mode:        mode,
			HistorySize: storetest.SmallHistory,
			PresenceTTL: contractTTL,
			OpenIdle:    idle,
			Limits:      storetest.SmallLimits(),
		})
		return storetest.Env{
			Store:       s,
			Presence:    s,
			Bus:         s,
			Queue:       s,
			Limits:      storetest.SmallLimits(),
			HistorySize: storetest.SmallHistory,
			PresenceTTL: contractTTL,
			OpenIdle:    idle,
		}
	}
}

// TestContractStandalone runs the shared store contract against one
// redis-server.
func TestContractStandalone(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	storetest.Run(t, contractEnv([]string{srv.Addr()}, redis.ModeStandalone))
}

// TestContractCluster runs it against a 3-master Redis Cluster, where the
// bus uses sharded pub/sub.
func TestContractCluster(t *testing.T) {
	t.Parallel()
	c := redistest.StartCluster(t)
	storetest.Run(t, contractEnv(c.Addrs(), redis.ModeCluster))
}

// TestContractAutoMode lets rueidis pick the topology.
func TestContractAutoMode(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	storetest.Run(t, contractEnv([]string{srv.Addr()}, redis.ModeAuto))
}
