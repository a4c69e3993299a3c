package redis_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/internal/redistest"
	"github.com/papercast/papercast/protocol"
	"github.com/papercast/papercast/repository/redis"
)

// BenchmarkApplyRedis measures one op through apply.lua on a local
// redis-server (check, merge, seq, history, publish), one caller at a time
// and with concurrent callers sharing the auto-pipelined connection.
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
	b.Run("serial", func(b *testing.B) {
		p := newPaper(b, s)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := s.Apply(ctx, p.ID, ops[i%len(ops)], bodies[i%len(ops)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("parallel", func(b *testing.B) {
		p := newPaper(b, s)
		var n atomic.Int64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				i := int(n.Add(1)) % len(ops)
				if _, err := s.Apply(ctx, p.ID, ops[i], bodies[i]); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
