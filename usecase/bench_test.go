package usecase_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/internal/redistest"
	"github.com/papercast/papercast/paper"
	"github.com/papercast/papercast/protocol"
	"github.com/papercast/papercast/repository/memory"
	"github.com/papercast/papercast/repository/redis"
	"github.com/papercast/papercast/usecase"
)

// capturingBus hands the test the room's bus handler so events can be fed
// to it directly.
type capturingBus struct {
	usecase.Bus
	h usecase.BusHandler
}

func (c *capturingBus) Subscribe(ctx context.Context, id string, h usecase.BusHandler) (func(), error) {
	c.h = h
	return c.Bus.Subscribe(ctx, id, nopHandler{})
}

type nopHandler struct{}

func (nopHandler) Event([]byte) {}
func (nopHandler) Resync()      {}

type nopSink struct{}

func (nopSink) Start([][]byte) error     { return nil }
func (nopSink) Send([]byte)              {}
func (nopSink) Close(domain.CloseReason) {}

// BenchmarkFanOut measures passing one event to N local sessions: the work a
// replica does per op per paper, without the network.
func BenchmarkFanOut(b *testing.B) {
	for _, n := range []int{10, 100, 500} {
		b.Run(fmt.Sprint("sessions=", n), func(b *testing.B) {
			st := memory.New(memory.Options{PresenceTTL: time.Minute})
			defer st.Close()
			bus := &capturingBus{Bus: st}
			hub := usecase.NewHub(st, st, bus, paper.DefaultLimits(), usecase.HubOptions{}, nil, quiet)
			defer hub.Close()
			papers := usecase.NewPapers(st, bus, paper.DefaultLimits())
			p, _, _ := papers.Create(context.Background(), "bench", "", "")
			var members []*usecase.Member
			for i := 0; i < n; i++ {
				m, err := hub.Join(context.Background(), usecase.JoinRequest{PaperID: p.ID}, nopSink{})
				if err != nil {
					b.Fatal(err)
				}
				members = append(members, m)
			}
			body := protocol.OpBody(upsert("n1", "text", "hello", "x", 10), domain.Author{Session: "s", User: "u"})
			frames := make([][]byte, 1024)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				j := i % len(frames)
				if frames[j] == nil || i >= len(frames) {
					frames[j] = protocol.OpFrame(uint64(i+1), body)
				}
				bus.h.Event(frames[j])
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/delivery")
			for _, m := range members {
				m.Leave()
			}
		})
	}
}

// rooms joins one session to each of n new papers, in parallel, and
// leaves them when the benchmark ends.
func rooms(b *testing.B, hub *usecase.Hub, papers *usecase.Papers, n int) {
	b.Helper()
	ids := make(chan string, n)
	for range n {
		p, _, err := papers.Create(context.Background(), "bench", "", "")
		if err != nil {
			b.Fatal(err)
		}
		ids <- p.ID
	}
	close(ids)
	var (
		mu      sync.Mutex
		members []*usecase.Member
		wg      sync.WaitGroup
	)
	for range 32 {
		wg.Go(func() {
			for id := range ids {
				m, err := hub.Join(context.Background(), usecase.JoinRequest{PaperID: id}, nopSink{})
				if err != nil {
					b.Error(err)
					return
				}
				mu.Lock()
				members = append(members, m)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	b.Cleanup(func() {
		for _, m := range members {
			wg.Go(m.Leave)
		}
		wg.Wait()
	})
}

// BenchmarkPresenceFlushTick measures one tick of the presence flush (every
// PresenceFlush, 50 ms by default) with many idle rooms and none or one
// busy: its cost must follow the rooms with queued presence, not all rooms.
func BenchmarkPresenceFlushTick(b *testing.B) {
	for _, n := range []int{100, 10_000} {
		for _, busy := range []bool{false, true} {
			b.Run(fmt.Sprintf("rooms=%d/busy=%v", n, busy), func(b *testing.B) {
				st := memory.New(memory.Options{PresenceTTL: time.Minute})
				defer st.Close()
				bus := &capturingBus{Bus: st}
				// Loops on timers that never fire: the benchmark ticks. Every
				// presence frame is coalesced.
				hub := usecase.NewHub(st, st, bus, paper.DefaultLimits(), usecase.HubOptions{
					PresenceHeartbeat: time.Hour, PresenceFlush: time.Hour, PresenceImmediateBelow: 1,
				}, nil, quiet)
				defer hub.Close()
				papers := usecase.NewPapers(st, bus, paper.DefaultLimits())
				rooms(b, hub, papers, n) // the last room's handler is bus.h
				frame := protocol.PresenceFrame(protocol.PresenceUpdate, domain.Presence{Session: "s", User: "u", State: []byte(`{"x":1}`)})
				b.ReportAllocs()
				for b.Loop() {
					if busy {
						bus.h.Event(frame)
					}
					hub.FlushTick()
				}
			})
		}
	}
}

// BenchmarkPresenceHeartbeat measures one presence heartbeat (every
// PresenceHeartbeat, 10 s by default) over 10,000 rooms of one session
// each, on the memory store and on a local redis-server. It must end well
// within the presence TTL (30 s by default).
func BenchmarkPresenceHeartbeat(b *testing.B) {
	const n = 10_000
	stores := []struct {
		name string
		open func(b *testing.B) (usecase.Store, usecase.PresenceStore, usecase.Bus)
	}{
		{"memory", func(b *testing.B) (usecase.Store, usecase.PresenceStore, usecase.Bus) {
			st := memory.New(memory.Options{PresenceTTL: time.Minute})
			b.Cleanup(st.Close)
			return st, st, st
		}},
		{"redis", func(b *testing.B) (usecase.Store, usecase.PresenceStore, usecase.Bus) {
			srv := redistest.Start(b)
			st, err := redis.New(context.Background(), redis.Options{Addrs: []string{srv.Addr()}, PresenceTTL: time.Minute}, quiet)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(st.Close)
			return st, st, st
		}},
	}
	for _, s := range stores {
		b.Run(fmt.Sprintf("%s/rooms=%d", s.name, n), func(b *testing.B) {
			st, pres, bus := s.open(b)
			hub := usecase.NewHub(st, pres, bus, paper.DefaultLimits(), usecase.HubOptions{PresenceHeartbeat: time.Hour}, nil, quiet)
			b.Cleanup(hub.Close)
			rooms(b, hub, usecase.NewPapers(st, bus, paper.DefaultLimits()), n)
			b.ReportAllocs()
			for b.Loop() {
				hub.HeartbeatTick()
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/heartbeat")
		})
	}
}
