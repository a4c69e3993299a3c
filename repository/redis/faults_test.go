package redis_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/internal/redistest"
	"github.com/papercast/papercast/protocol"
	"github.com/papercast/papercast/repository/redis"
	"github.com/papercast/papercast/usecase"
)

// TestRedisRestartResubscribesAndResyncs: with Redis killed, Ready and
// every write fail fast with ErrUnavailable; when it comes back on the same
// address the subscription is restored by itself, the handler is told to
// resync, Ready recovers and new events arrive again.
func TestRedisRestartResubscribesAndResyncs(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	s := newStore(t, redis.Options{Addrs: []string{srv.Addr()}, CommandTimeout: time.Second})
	ctx := context.Background()
	p := newPaper(t, s)
	h := subscribe(t, s, p.ID)
	h.waitFrame(t, apply(t, s, p.ID, upsert("n1", "v", "1")), 5*time.Second)

	srv.Kill()
	eventually(t, 3*time.Second, "Ready fails while Redis is down", func() bool {
		return errors.Is(s.Ready(ctx), domain.ErrUnavailable)
	})
	start := time.Now()
	_, err := s.Apply(ctx, p.ID, upsert("n1", "v", "2"), protocol.OpBody(upsert("n1", "v", "2"), writer), usecase.OpOrder{}, usecase.Editor{})
	if !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("Apply with Redis down: %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Apply with Redis down took %v", d)
	}
	if err := s.Ping(ctx); !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("Ping with Redis down: %v", err)
	}
	if _, err := s.Subscribe(ctx, "other", newHandler()); !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("Subscribe with Redis down: %v, want ErrUnavailable", err)
	}

	srv.Restart()
	eventually(t, 5*time.Second, "handler told to resync", func() bool { return h.resyncs.Load() == 1 })
	eventually(t, 5*time.Second, "Ready after the restart", func() bool { return s.Ready(ctx) == nil })
	// Without AOF the paper is gone; a new one with the same id reaches the
	// same subscription.
	if _, err := s.Create(ctx, domain.Paper{ID: p.ID, Title: "again", Status: domain.StatusOpen, CreatedAt: time.Now()}); err != nil {
		t.Fatalf("Create after restart: %v", err)
	}
	h.waitFrame(t, apply(t, s, p.ID, upsert("n1", "v", "3")), 5*time.Second)
	if got := channels(t, srv, "PUBSUB", "CHANNELS"); len(got) != 1 || got[0] != s.Channel(p.ID) {
		t.Fatalf("PUBSUB CHANNELS after the restart = %q, want just %s", got, s.Channel(p.ID))
	}
}

// TestFrozenRedisTurnsUnreadyAndTimesOut: a Redis that stops answering
// without closing connections (SIGSTOP: a hung server or a silent
// partition) gives ErrUnavailable within the command timeout, and the bus
// finds out its subscriber connection is dead (the wedged-subscriber case a
// PING on the command connection alone would miss); after the thaw it
// resubscribes, resyncs and delivers again.
func TestFrozenRedisTurnsUnreadyAndTimesOut(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	const timeout = 500 * time.Millisecond
	s := newStore(t, redis.Options{Addrs: []string{srv.Addr()}, CommandTimeout: timeout})
	ctx := context.Background()
	p := newPaper(t, s)
	h := subscribe(t, s, p.ID)

	srv.Pause()
	start := time.Now()
	op := upsert("n1", "v", "1")
	_, err := s.Apply(ctx, p.ID, op, protocol.OpBody(op, writer), usecase.OpOrder{}, usecase.Editor{})
	if !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("Apply on a frozen Redis: %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > timeout+time.Second {
		t.Fatalf("Apply on a frozen Redis took %v, want about %v", d, timeout)
	}
	eventually(t, 5*time.Second, "Ready reports the subscription down while Redis is frozen", func() bool {
		err := s.Ready(ctx)
		return errors.Is(err, domain.ErrUnavailable) && strings.Contains(err.Error(), "subscriptions are down")
	})
	srv.Resume()
	eventually(t, 10*time.Second, "Ready after the thaw", func() bool { return s.Ready(ctx) == nil })
	eventually(t, 5*time.Second, "handler told to resync", func() bool { return h.resyncs.Load() >= 1 })
	h.waitFrame(t, apply(t, s, p.ID, upsert("n1", "v", "2")), 5*time.Second)
}

// TestKilledSubscriberConnectionIsRestored: Redis drops only the pub/sub
// connection (CLIENT KILL TYPE pubsub); commands keep working, so only the
// bus can notice. It resubscribes and the handler resyncs.
func TestKilledSubscriberConnectionIsRestored(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	s := newStore(t, redis.Options{Addrs: []string{srv.Addr()}})
	ctx := context.Background()
	p := newPaper(t, s)
	h := subscribe(t, s, p.ID)
	if _, err := srv.Do("CLIENT", "KILL", "TYPE", "pubsub"); err != nil {
		t.Fatalf("CLIENT KILL: %v", err)
	}
	eventually(t, 5*time.Second, "handler told to resync", func() bool { return h.resyncs.Load() == 1 })
	h.waitFrame(t, apply(t, s, p.ID, upsert("n1", "v", "1")), 5*time.Second)
	if err := s.Ready(ctx); err != nil {
		t.Fatalf("Ready: %v", err)
	}
}

// TestAckedAppliesSurviveKill9WithAppendfsyncAlways: with appendonly yes and
// appendfsync always, every op Apply acknowledged is in the paper after
// kill -9 and restart of Redis: its frame is in the history at its seq and
// its value is in the document (or a later one of the same writer).
func TestAckedAppliesSurviveKill9WithAppendfsyncAlways(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t, redistest.WithAOF())
	s := newStore(t, redis.Options{Addrs: []string{srv.Addr()}, HistorySize: 100000, CommandTimeout: time.Second})
	ctx := context.Background()
	p := newPaper(t, s)

	type ack struct {
		seq   uint64
		frame []byte
		n     int
	}
	const writers = 8
	acks := make([][]ack, writers)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range writers {
		wg.Go(func() {
			for n := 1; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				op := upsert(fmt.Sprintf("w%d", w), "n", strconv.Itoa(n))
				body := protocol.OpBody(op, writer)
				seq, err := s.Apply(ctx, p.ID, op, body, usecase.OpOrder{}, usecase.Editor{})
				if err != nil {
					if !errors.Is(err, domain.ErrUnavailable) {
						t.Errorf("writer %d: %v", w, err)
					}
					return
				}
				acks[w] = append(acks[w], ack{seq, protocol.OpFrame(seq, body), n})
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	srv.Kill() // mid-write: some ops are in flight
	close(stop)
	wg.Wait()
	srv.Restart()

	var doc domain.Document
	eventually(t, 5*time.Second, "snapshot after restart", func() bool {
		var err error
		doc, err = s.Snapshot(ctx, p.ID)
		return err == nil
	})
	events, cur, err := s.History(ctx, p.ID, p.Epoch, 0)
	if err != nil {
		t.Fatalf("History: %v", err)
	}
	total := 0
	for w, as := range acks {
		total += len(as)
		for _, a := range as {
			if a.seq > cur || string(events[a.seq-1].Frame) != string(a.frame) {
				t.Fatalf("writer %d: acked seq %d is lost (current seq %d)", w, a.seq, cur)
			}
		}
		if len(as) == 0 {
			continue
		}
		last := as[len(as)-1].n
		var got int
		for _, el := range doc.Elements {
			if el.ID == fmt.Sprintf("w%d", w) {
				got, _ = strconv.Atoi(string(el.Fields["n"]))
			}
		}
		if got < last {
			t.Fatalf("writer %d: document has n=%d, but n=%d was acked", w, got, last)
		}
	}
	if total < 50 {
		t.Fatalf("only %d ops acked before the kill: the test proved little", total)
	}
	t.Logf("%d acked ops survived kill -9 (current seq %d)", total, cur)
}

// TestNewFailsWhenRedisIsUnreachable: start-up with no Redis is an error
// wrapping ErrUnavailable, not a hang.
func TestNewFailsWhenRedisIsUnreachable(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	addr := srv.Addr()
	srv.Kill()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := redis.New(ctx, redis.Options{Addrs: []string{addr}, DialTimeout: time.Second, Password: "hunter2"}, testLogger(t))
	if err == nil {
		s.Close()
		t.Fatal("New succeeded without Redis")
	}
	if !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("New: %v, want ErrUnavailable", err)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("the error shows the password: %v", err)
	}
}

// channels lists a PUBSUB subcommand's channels on one server.
func channels(t testing.TB, srv *redistest.Server, args ...string) []string {
	t.Helper()
	out, err := srv.Do(args...)
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	if out == "" {
		return nil
	}
	return strings.Split(out, "\n")
}
