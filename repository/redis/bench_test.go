package redis_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/internal/redistest"
	"github.com/papercast/papercast/protocol"
	"github.com/papercast/papercast/repository/redis"
	"github.com/papercast/papercast/usecase"
)

// BenchmarkApplyRedis measures one op through apply.lua on a local
// redis-server (check, order check, merge, seq, history, publish), one
// caller at a time and with concurrent callers sharing the auto-pipelined
// connections: GOMAXPROCS of them, and 32x that (many sessions waiting on
// the store at once, as under load). Each caller is one session sending its
// ops in order, as Member.Edit does. redis-µs/op is the time Redis itself
// spent per script (INFO commandstats): Redis runs scripts one at a time, so
// it bounds the ops/s one Redis can store, whatever the machine's load.
func BenchmarkApplyRedis(b *testing.B) {
	srv := redistest.Start(b)
	s := newStore(b, redis.Options{Addrs: []string{srv.Addr()}})
	ctx := context.Background()
	ops := make([]domain.Op, 100)
	bodies := make([][]byte, len(ops))
	for i := range ops {
		ops[i] = domain.Op{Kind: domain.OpUpsert, ID: fmt.Sprintf("n%d", i), Fields: map[string]json.RawMessage{
			"text": json.RawMessage(`"Happy birthday! Have a wonderful year."`),
			"x":    json.RawMessage(`120.5`),
			"y":    json.RawMessage(`88`),
		}}
		bodies[i] = protocol.OpBody(ops[i], writer)
	}
	// next applies a session's next op.
	next := func(paperID string, order *usecase.OpOrder) error {
		i := int(order.N) % len(ops)
		order.N++
		_, err := s.Apply(ctx, paperID, ops[i], bodies[i], *order, usecase.Editor{User: writer.User, Name: writer.Name, At: time.Now()})
		return err
	}
	b.Run("serial", func(b *testing.B) {
		p := newPaper(b, s)
		b.ReportAllocs()
		defer reportRedisTime(b, srv)()
		order := usecase.OpOrder{Session: usecase.NewSessionID()}
		for b.Loop() {
			if err := next(p.ID, &order); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, callers := range []int{1, 32} {
		name := "parallel"
		if callers > 1 {
			name = fmt.Sprintf("parallel-x%d", callers)
		}
		b.Run(name, func(b *testing.B) {
			p := newPaper(b, s)
			b.ReportAllocs()
			defer reportRedisTime(b, srv)()
			b.SetParallelism(callers)
			b.RunParallel(func(pb *testing.PB) {
				order := usecase.OpOrder{Session: usecase.NewSessionID()}
				for pb.Next() {
					if err := next(p.ID, &order); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// reportRedisTime reports, when the returned function runs, the Redis time
// per EVALSHA run since the call.
func reportRedisTime(b *testing.B, srv *redistest.Server) func() {
	calls0, usec0 := evalshaStats(b, srv)
	return func() {
		if calls, usec := evalshaStats(b, srv); calls > calls0 {
			b.ReportMetric(float64(usec-usec0)/float64(calls-calls0), "redis-µs/op")
		}
	}
}
