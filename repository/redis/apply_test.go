package redis_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/internal/redistest"
	"github.com/papercast/papercast/protocol"
	"github.com/papercast/papercast/repository/redis"
	"github.com/papercast/papercast/repository/storetest"
	"github.com/papercast/papercast/usecase"
)

// TestOpsQueuedBehindACallGoInOneBatch: while one op of a paper is at
// Redis, the ops arriving for that paper queue and go in ONE apply.lua
// call, in arrival order: one seq range, each op checked on its own (a
// refused op refuses only itself), one publish whose frames every
// subscriber receives one by one, in seq order.
func TestOpsQueuedBehindACallGoInOneBatch(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	s := newStore(t, redis.Options{Addrs: []string{srv.Addr()}, CommandTimeout: 20 * time.Second})
	ctx := context.Background()
	p := newPaper(t, s)
	h := subscribe(t, s, p.ID)
	calls0, _ := evalshaStats(t, srv)

	type result struct {
		seq uint64
		err error
	}
	const n = 10
	const refused = 5 // deletes an element that does not exist
	ops := make([]domain.Op, n)
	bodies := make([][]byte, n)
	results := make([]chan result, n)
	for i := range ops {
		ops[i] = upsert(fmt.Sprintf("n%d", i), "v", strconv.Itoa(i))
		if i == refused {
			ops[i] = domain.Op{Kind: domain.OpDelete, ID: "ghost"}
		}
		bodies[i] = protocol.OpBody(ops[i], writer)
		results[i] = make(chan result, 1)
	}
	start := func(i int) {
		go func() {
			seq, err := s.Apply(ctx, p.ID, ops[i], bodies[i],
				usecase.OpOrder{Session: fmt.Sprintf("s%d", i%3), N: uint64(i)},
				usecase.Editor{User: writer.User, Name: writer.Name, At: time.Now()})
			results[i] <- result{seq, err}
		}()
	}
	srv.Pause()
	resumed := false
	defer func() {
		if !resumed {
			srv.Resume()
		}
	}()
	start(0)
	eventually(t, 10*time.Second, "the first op in flight", func() bool { return redis.QueuedOps(s, p.ID) == 0 })
	for i := 1; i < n; i++ {
		start(i)
		eventually(t, 10*time.Second, fmt.Sprintf("op %d queued", i), func() bool { return redis.QueuedOps(s, p.ID) == i })
	}
	srv.Resume()
	resumed = true

	var want [][]byte
	seq := uint64(0)
	for i := range n {
		r := <-results[i]
		if i == refused {
			if !errors.Is(r.err, domain.ErrNotFound) {
				t.Fatalf("op %d: seq %d, err %v; want ErrNotFound", i, r.seq, r.err)
			}
			continue
		}
		seq++
		if r.err != nil || r.seq != seq {
			t.Fatalf("op %d: seq %d, err %v; want seq %d", i, r.seq, r.err, seq)
		}
		want = append(want, protocol.OpFrame(seq, bodies[i]))
	}
	if calls, _ := evalshaStats(t, srv); calls != calls0+2 {
		t.Fatalf("%d apply calls for %d ops, want 2 (one op, then one batch)", calls-calls0, n)
	}
	h.waitFrame(t, want[len(want)-1], 10*time.Second)
	if got := h.all(); !slices.EqualFunc(got, want, func(a, b []byte) bool { return string(a) == string(b) }) {
		t.Fatalf("subscriber got %q\nwant %q", got, want)
	}
	if h.resyncs.Load() != 0 {
		t.Fatalf("%d resyncs", h.resyncs.Load())
	}
	evs, cur, err := s.History(ctx, p.ID, p.Epoch, 0)
	if err != nil || cur != seq || len(evs) != len(want) {
		t.Fatalf("History = %d events, cur %d, %v", len(evs), cur, err)
	}
	if redis.QueuedOps(s, p.ID) != -1 {
		t.Fatal("the paper's queue outlived its calls")
	}
}

func TestSplitMessage(t *testing.T) {
	cases := []struct {
		name, msg string
		frames    []string
		ok        bool
	}{
		{"OneFrameAsItIs", `{"type":"op","seq":1}`, []string{`{"type":"op","seq":1}`}, true},
		{"Several", `#5:{"a"}3:{:}2:{}`, []string{`{"a"}`, `{:}`, `{}`}, true},
		{"FrameHoldingTheSeparators", "#8:{\"#1:x\"}", []string{"{\"#1:x\"}"}, true},
		{"NoFrames", "#", nil, true},
		{"CutShort", `#5:{"a"}9:{}`, []string{`{"a"}`}, false},
		{"NoLength", `#:{}`, nil, false},
		{"BadLength", `#x:{}`, nil, false},
		{"NegativeLength", `#-1:{}`, nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			frames, ok := redis.SplitMessage(c.msg)
			if ok != c.ok || !slices.Equal(frames, c.frames) {
				t.Fatalf("SplitMessage(%q) = %q, %v; want %q, %v", c.msg, frames, ok, c.frames, c.ok)
			}
		})
	}
}

// TestRetentionExpiresTheDataKeysAndFinalizeKeepsThem: an open paper's data
// keys all carry its idle expiry (between one and 1.5 windows), keys made
// again after they emptied too; a final paper's keys have none and its
// history list is gone.
func TestRetentionExpiresTheDataKeysAndFinalizeKeepsThem(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	const idle = time.Hour
	s := newStore(t, redis.Options{Addrs: []string{srv.Addr()}, OpenIdle: idle})
	ctx := context.Background()
	p := newPaper(t, s)
	key := func(k string) string { return "test:{" + p.ID + "}:" + k }
	pttl := func(k string) int64 {
		t.Helper()
		v, err := srv.Do("PTTL", key(k))
		if err != nil {
			t.Fatal(err)
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		return n
	}
	wantExpiring := func(when string, ks ...string) {
		t.Helper()
		for _, k := range ks {
			if ms := pttl(k); ms < idle.Milliseconds() || ms > idle.Milliseconds()*3/2 {
				t.Fatalf("%s: key %s expires in %d ms, want within [%v, 1.5x]", when, k, ms, idle)
			}
		}
	}
	wantExpiring("after Create", "meta")
	apply(t, s, p.ID, upsert("n1", "a", "1"))
	if err := s.Ban(ctx, p.ID, "troll"); err != nil {
		t.Fatal(err)
	}
	wantExpiring("after an op and a ban", "meta", "f", "e", "h", "a", "b")
	del := domain.Op{Kind: domain.OpDelete, ID: "n1"}
	if _, err := s.Apply(ctx, p.ID, del, protocol.OpBody(del, writer), usecase.OpOrder{}, usecase.Editor{User: writer.User, Owner: true}); err != nil {
		t.Fatal(err)
	}
	if ms := pttl("e"); ms != -2 {
		t.Fatalf("elements key after its last element went: PTTL %d, want -2 (gone)", ms)
	}
	apply(t, s, p.ID, upsert("n2", "a", "1"))
	wantExpiring("after an element was made again", "f", "e", "a")
	if err := s.Touch(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Finalize(ctx, p.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"meta", "f", "e", "a", "b"} {
		if ms := pttl(k); ms != -1 {
			t.Fatalf("final paper's key %s: PTTL %d, want -1 (no expiry)", k, ms)
		}
	}
	if ms := pttl("h"); ms != -2 {
		t.Fatalf("final paper's history: PTTL %d, want -2 (gone)", ms)
	}
}

// TestRecordsStoredBeforeSizesWereKept: a paper stored by an earlier
// version has element records without field sizes and no live-element or
// ban counts in its metadata; ops on it still check and count right, and
// bring its records and counts up to date.
func TestRecordsStoredBeforeSizesWereKept(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	limits := storetest.SmallLimits()
	limits.MaxElementBytes, limits.MaxValueBytes = 20, 20
	s := newStore(t, redis.Options{Addrs: []string{srv.Addr()}, Limits: limits})
	ctx := context.Background()
	p := newPaper(t, s)
	key := func(k string) string { return "test:{" + p.ID + "}:" + k }
	// n1: a=1 (2 bytes) and bb="xyz" (7 bytes), as an old version stored it.
	for _, cmd := range [][]string{
		{"HSET", key("e"), "n1", "1 9 a bb"},
		{"HSET", key("f"), "n1:a", "1", "n1:bb", `"xyz"`},
		{"HSET", key("meta"), "elems", "1"},
		{"HDEL", key("meta"), "ne", "nbans"},
		{"SADD", key("b"), "troll"},
	} {
		if _, err := srv.Do(cmd...); err != nil {
			t.Fatal(cmd, err)
		}
	}
	banned := upsert("n9", "a", "1")
	if _, err := s.Apply(ctx, p.ID, banned, protocol.OpBody(banned, writer), usecase.OpOrder{}, usecase.Editor{User: "troll", Owner: true}); !errors.Is(err, domain.ErrBanned) {
		t.Fatalf("a banned user's op on an old paper: %v, want ErrBanned", err)
	}
	// bb may take 20 - 2 (a) - 2 (its name) = 16 bytes: the old value's
	// size must come off (HSTRLEN), or neither op below is told right.
	ed := usecase.Editor{User: writer.User, Owner: true, At: time.Now()}
	tooBig := upsert("n1", "bb", `"`+strings.Repeat("x", 15)+`"`)
	if _, err := s.Apply(ctx, p.ID, tooBig, protocol.OpBody(tooBig, writer), usecase.OpOrder{}, ed); !errors.Is(err, domain.ErrTooLarge) {
		t.Fatalf("one byte over the element size: %v, want ErrTooLarge", err)
	}
	fits := upsert("n1", "bb", `"`+strings.Repeat("x", 14)+`"`)
	if _, err := s.Apply(ctx, p.ID, fits, protocol.OpBody(fits, writer), usecase.OpOrder{}, ed); err != nil {
		t.Fatalf("an element exactly at the size limit: %v", err)
	}
	rec, err := srv.Do("HGET", key("e"), "n1")
	if err != nil {
		t.Fatal(err)
	}
	if rec != "1 20 a=1 bb=16" && rec != "1 20 bb=16 a=1" {
		t.Fatalf("record after the op: %q, want \"1 20 a=1 bb=16\" (fields in any order)", rec)
	}
	m, err := srv.Do("HMGET", key("meta"), "ne", "nbans")
	if err != nil {
		t.Fatal(err)
	}
	if m != "1\n1" {
		t.Fatalf("meta ne, nbans after the op: %q, want 1 and 1", m)
	}
}

// TestCloseEndsQueuedOps: ops queued behind a call in flight when the
// Store closes are answered (unavailable), and no goroutine of the batching
// outlives Close (the package's goleak check).
func TestCloseEndsQueuedOps(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	s, err := redis.New(context.Background(), redis.Options{Addrs: []string{srv.Addr()}, KeyPrefix: "test:", CommandTimeout: 20 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := newPaper(t, s)
	errs := make(chan error, 3)
	srv.Pause()
	defer srv.Resume()
	for i := range 3 {
		go func() {
			op := upsert(fmt.Sprintf("n%d", i), "v", "1")
			_, err := s.Apply(context.Background(), p.ID, op, protocol.OpBody(op, writer), usecase.OpOrder{}, usecase.Editor{User: writer.User})
			errs <- err
		}()
		eventually(t, 10*time.Second, fmt.Sprintf("op %d in flight or queued", i), func() bool { return redis.QueuedOps(s, p.ID) == i })
	}
	s.Close()
	for range 3 {
		if err := <-errs; !errors.Is(err, domain.ErrUnavailable) {
			t.Fatalf("an op in flight or queued at Close: %v, want ErrUnavailable", err)
		}
	}
	if n := redis.QueuedOps(s, p.ID); n != -1 {
		t.Fatalf("queue left after Close: %d", n)
	}
}
