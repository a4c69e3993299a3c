package redis_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/internal/redistest"
	"github.com/papercast/papercast/protocol"
	"github.com/papercast/papercast/repository/redis"
	"github.com/papercast/papercast/usecase"
)

// TestWaitReplicasAcksOnlyWhatTheReplicaHas: with WaitReplicas 1 every
// acked write is already on the replica when the ack comes; with the
// replica frozen a write is refused as unavailable within the wait timeout
// (it did land on the master: documented), and when the replica thaws
// writes are acked again. Each kind of seq-taking write goes through WAIT.
func TestWaitReplicasAcksOnlyWhatTheReplicaHas(t *testing.T) {
	master := redistest.Start(t)
	replica := redistest.StartReplica(t, master)
	const waitTimeout = 300 * time.Millisecond
	s := newStore(t, redis.Options{Addrs: []string{master.Addr()}, WaitReplicas: 1, WaitTimeout: waitTimeout, CommandTimeout: 3 * time.Second})
	ctx := context.Background()
	p := newPaper(t, s)
	metaKey := "test:{" + p.ID + "}:meta"
	seqOnReplica := func() string {
		got, err := replica.Do("HGET", metaKey, "seq")
		if err != nil {
			t.Fatalf("HGET on the replica: %v", err)
		}
		return got
	}
	for i, v := range []string{"1", "2", "3"} {
		apply(t, s, p.ID, upsert("n1", "v", v))
		// Read at once, no polling: the ack came after WAIT.
		if got := seqOnReplica(); got != []string{"1", "2", "3"}[i] {
			t.Fatalf("after ack of op %d the replica has seq %q", i+1, got)
		}
	}
	if _, err := s.SetEdit(ctx, p.ID, domain.EditOpen); err != nil {
		t.Fatalf("SetEdit: %v", err)
	}
	if got := seqOnReplica(); got != "4" {
		t.Fatalf("after the policy ack the replica has seq %q, want 4", got)
	}

	replica.Pause()
	paused := true
	defer func() {
		if paused {
			replica.Resume()
		}
	}()
	op := upsert("n2", "v", "9")
	start := time.Now()
	_, err := s.Apply(ctx, p.ID, op, protocol.OpBody(op, writer), usecase.OpOrder{}, usecase.Editor{})
	if !errors.Is(err, domain.ErrUnavailable) || !strings.Contains(err.Error(), "may still have landed") {
		t.Fatalf("Apply with the replica frozen: %v, want ErrUnavailable saying it may have landed", err)
	}
	if d := time.Since(start); d < waitTimeout {
		t.Fatalf("the refusal came after %v, before the wait timeout %v", d, waitTimeout)
	}
	if _, err := s.Finalize(ctx, p.ID, time.Now()); !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("Finalize with the replica frozen: %v, want ErrUnavailable", err)
	}
	if err := s.Ban(ctx, p.ID, "someone"); !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("Ban with the replica frozen: %v, want ErrUnavailable", err)
	}
	// The writes did land on the master: unavailable never means "not applied".
	if got, err := master.Do("HGET", metaKey, "status"); err != nil || got != domain.StatusFinal {
		t.Fatalf("master status %q, %v; the refused finalize should still have landed", got, err)
	}

	replica.Resume()
	paused = false
	q := newPaper(t, s)
	apply(t, s, q.ID, upsert("n1", "v", "1"))
	if got, err := replica.Do("HGET", "test:{"+q.ID+"}:meta", "seq"); err != nil || got != "1" {
		t.Fatalf("after the thaw: replica seq %q, %v; want 1", got, err)
	}
	if _, err := s.RenewEpoch(ctx, q.ID, q.Epoch); err != nil {
		t.Fatalf("RenewEpoch: %v", err)
	}
	if err := s.Delete(ctx, q.ID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if got, err := replica.Do("EXISTS", "test:{"+q.ID+"}:meta"); err != nil || got != "0" {
		t.Fatalf("after the delete ack the replica still has the paper (%q, %v)", got, err)
	}
}

// TestWaitReplicasIsRefusedWithoutReplicas: a master with no replica can
// never ack with WaitReplicas 1, and says so instead of hanging.
func TestWaitReplicasIsRefusedWithoutReplicas(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	s := newStore(t, redis.Options{Addrs: []string{srv.Addr()}, WaitReplicas: 1, WaitTimeout: 50 * time.Millisecond})
	_, err := s.Create(context.Background(), domain.Paper{ID: usecase.NewPaperID(), Status: domain.StatusOpen, CreatedAt: time.Now()})
	if !errors.Is(err, domain.ErrUnavailable) || !strings.Contains(err.Error(), "0 of 1 replicas") {
		t.Fatalf("Create with no replica: %v, want ErrUnavailable naming 0 of 1 replicas", err)
	}
}

// BenchmarkApplyWaitReplicas measures what redis.wait_replicas costs an op:
// apply.lua on a master with one replica (both local), acked at once
// (wait 0) or after WAIT 1 on the same connection, one session at a time
// and 32 sessions per GOMAXPROCS at once (WAIT holds a dedicated connection
// per write in flight).
func BenchmarkApplyWaitReplicas(b *testing.B) {
	master := redistest.Start(b)
	redistest.StartReplica(b, master)
	ctx := context.Background()
	for _, wait := range []int{0, 1} {
		s := newStore(b, redis.Options{Addrs: []string{master.Addr()}, WaitReplicas: wait})
		for _, callers := range []int{0, 32} {
			name := fmt.Sprintf("wait%d/serial", wait)
			if callers > 0 {
				name = fmt.Sprintf("wait%d/parallel-x%d", wait, callers)
			}
			b.Run(name, func(b *testing.B) {
				p := newPaper(b, s)
				op := upsert("n1", "text", `"Happy birthday!"`)
				body := protocol.OpBody(op, writer)
				if callers == 0 {
					for b.Loop() {
						if _, err := s.Apply(ctx, p.ID, op, body, usecase.OpOrder{}, usecase.Editor{}); err != nil {
							b.Fatal(err)
						}
					}
					return
				}
				b.SetParallelism(callers)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := s.Apply(ctx, p.ID, op, body, usecase.OpOrder{}, usecase.Editor{}); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		}
	}
}
