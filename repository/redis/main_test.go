package redis_test

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// rueidis's cluster client, when it starts with several seed
		// addresses, may replace a not-yet-used connection during its first
		// topology refresh and closes it from a goroutine that sleeps 5s
		// first (cluster.go, _refresh). It is not tied to Close, so a test
		// that closes a cluster store within 5s of New sees it; it ends by
		// itself.
		goleak.IgnoreAnyFunction("github.com/redis/rueidis.(*clusterClient)._refresh.func2"),
	)
}
