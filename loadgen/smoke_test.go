package loadgen

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// buildPapercast builds ./cmd/papercast of this module into a temp dir.
func buildPapercast(t *testing.T) string {
	t.Helper()
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	bin := filepath.Join(t.TempDir(), "papercast")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/papercast")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build papercast: %v\n%s", err, out)
	}
	return bin
}

// TestSmokeSpawnedReplicasDeliverEveryOpOnceInOrder is the short load run
// `make test` carries: two replicas on a throwaway Redis, 200 sessions on
// 20 papers, 2 ops/s each for 3 s. Every acked op must reach every session
// of its paper exactly once, in seq order and in its sender's order. No
// timing is asserted: the machine running the tests may be busy.
func TestSmokeSpawnedReplicasDeliverEveryOpOnceInOrder(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns Redis and two replicas")
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("redis-server is not on PATH (%v); %s", err, redisInstallHint)
	}
	bin := buildPapercast(t)
	cfg := Defaults()
	cfg.Spawn = 2
	cfg.Bin = bin
	cfg.Sessions = 200
	cfg.Papers = 20
	cfg.Rate = 2
	cfg.PresenceRate = 0.5
	cfg.Idle = 200 * time.Millisecond
	cfg.Warmup = 500 * time.Millisecond
	cfg.Duration = 3 * time.Second
	cfg.Drain = 15 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	res, err := Run(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	var table strings.Builder
	_ = res.WriteTable(&table)
	t.Logf("\n%s", table.String())

	if res.Sessions != cfg.Sessions {
		t.Errorf("%d of %d sessions joined", res.Sessions, cfg.Sessions)
	}
	if res.Lost != 0 || res.OutOfOrder != 0 || res.Duplicates != 0 {
		t.Errorf("lost %d, out of order %d, duplicates %d: want all 0", res.Lost, res.OutOfOrder, res.Duplicates)
	}
	// Each receiver sees each sender's ops in the order sent, and no op
	// answered with an error was stored.
	if res.SenderOutOfOrder != 0 || res.ErroredDelivered != 0 {
		t.Errorf("per sender: out of order %d, refused but delivered %d: want 0", res.SenderOutOfOrder, res.ErroredDelivered)
	}
	if !res.Drained {
		t.Errorf("not drained: %d acked + %d refused of %d sent, %d of %d deliveries", res.OpsAcked, res.OpErrors, res.OpsSent, res.Received, res.Expected)
	}
	if res.DeliveriesPerSec <= 0 || res.LatencyMS.Count == 0 {
		t.Errorf("nothing delivered in the window: %+v", res)
	}
	// 2 ops/s over 3.5 s of load at 10 sessions per paper: far more than
	// this, so a run that silently sent nothing cannot pass.
	if res.Expected < 1000 {
		t.Errorf("only %d deliveries expected", res.Expected)
	}
	if len(res.Errors) != 0 {
		t.Errorf("errors: %v", res.Errors)
	}
	if len(res.ReplicaStats) != 2 || res.ReplicaStats[0].PID == 0 || res.RSSBytesPerSession == nil || res.CPUUsPerDelivery == nil {
		t.Errorf("replica stats missing: %+v", res.ReplicaStats)
	}
}
