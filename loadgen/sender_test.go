package loadgen

import (
	"encoding/json"
	"math/rand/v2"
	"testing"

	"github.com/papercast/papercast/paper"
	"github.com/papercast/papercast/protocol"
)

// Every op a sender writes is a valid client frame and carries the sender's
// counter, 1, 2, 3..., in its ref and (upserts) in its fields, next to src:
// what the receivers' per-sender order check and the errored-but-delivered
// count read back.
func TestOpsCarryTheSendersCounter(t *testing.T) {
	sh := &shard{r: newTestRunner(), rng: rand.New(rand.NewPCG(1, 1))}
	s := &session{idx: 7}
	limits := paper.DefaultLimits()
	kinds := map[string]int{}
	for want := uint64(1); want <= 2000; want++ {
		b := sh.nextOp(s, int64(want)*1000)
		sh.buf = b
		f, err := protocol.DecodeClient(b)
		if err != nil {
			t.Fatalf("op %d: %v: %s", want, err, b)
		}
		if err := limits.ValidateOp(f.Op()); err != nil {
			t.Fatalf("op %d: %v: %s", want, err, b)
		}
		kinds[f.Type]++
		tm, n, ok := parseRef([]byte(f.Ref))
		if !ok || n != want || tm != want*1000 {
			t.Fatalf("op %d: ref %q", want, f.Ref)
		}
		if f.Type != "upsert" {
			continue
		}
		var fields struct{ N, Src uint64 }
		if err := json.Unmarshal(mustJSON(t, f.Op().Fields), &fields); err != nil {
			t.Fatal(err)
		}
		if fields.N != want || fields.Src != 7 {
			t.Fatalf("op %d: fields n=%d src=%d: %s", want, fields.N, fields.Src, b)
		}
	}
	if kinds["upsert"] == 0 || kinds["delete"] == 0 {
		t.Errorf("kinds %v: want upserts and deletes", kinds)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
