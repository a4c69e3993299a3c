package app_test

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// rueidis's cluster client closes connections it replaced during a
		// topology refresh from a goroutine that first sleeps 5 s
		// (cluster.go, _refresh); it is not tied to Close and ends by
		// itself. Same exception as repository/redis.
		goleak.IgnoreAnyFunction("github.com/redis/rueidis.(*clusterClient)._refresh.func2"),
	)
}
