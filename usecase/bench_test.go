package usecase_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/paper"
	"github.com/papercast/papercast/protocol"
	"github.com/papercast/papercast/repository/memory"
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
			papers := usecase.NewPapers(st, bus, paper.DefaultLimits(), quiet)
			p, _, _ := papers.Create(context.Background(), "bench", "")
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
