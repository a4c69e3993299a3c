package redis_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/internal/redistest"
	"github.com/papercast/papercast/protocol"
	"github.com/papercast/papercast/repository/redis"
	"github.com/papercast/papercast/usecase"
)

// TestPapersStoredBeforeThePadAreConvertedOnTheirNextOp: a paper of 10
// elements in the previous layout (field, element and author hashes as
// listpacks, no pad field, no meta "ht") keeps working: its next op, under
// the authors policy, is checked and applied, turns them and meta into
// hashtables (the pad field keeps them so) with the paper's idle expiry,
// the snapshot shows exactly the 10 elements, the pad nowhere, and the
// element record written names its author from then on. Finalize makes
// the hashes listpacks again.
func TestPapersStoredBeforeThePadAreConvertedOnTheirNextOp(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t, redistest.WithArgs("--enable-debug-command", "local"))
	const idle = time.Hour
	s := newStore(t, redis.Options{Addrs: []string{srv.Addr()}, OpenIdle: idle})
	ctx := context.Background()
	p := newPaper(t, s)
	key := func(k string) string { return "test:{" + p.ID + "}:" + k }
	do := func(args ...string) string {
		t.Helper()
		v, err := srv.Do(args...)
		if err != nil {
			t.Fatal(args, err)
		}
		return v
	}
	// The previous layout, by hand: what the scripts before the pad stored.
	now := time.Now().Unix()
	exp := strconv.FormatInt(time.Now().Add(idle).UnixMilli(), 10)
	for i := 1; i <= 10; i++ {
		id := fmt.Sprintf("n%d", i)
		do("HSET", key("e"), id, fmt.Sprintf("%d %d x=%d", i, 1+len(strconv.Itoa(i)), len(strconv.Itoa(i))))
		do("HSET", key("f"), id+":x", strconv.Itoa(i))
		do("HSET", key("a"), id, fmt.Sprintf("%d %d %s%s", now, len(writer.User), writer.User, writer.Name))
	}
	do("HSET", key("meta"), "elems", "10", "ne", "10", "exp", exp)
	for _, k := range []string{"meta", "f", "e", "a"} {
		do("PEXPIREAT", key(k), exp)
	}
	for _, k := range []string{"f", "e", "a"} {
		if enc := do("OBJECT", "ENCODING", key(k)); enc != "listpack" {
			t.Fatalf("old layout's %s is a %s, want a listpack", k, enc)
		}
	}

	// Another user may not change writer's element (authors policy)...
	other := usecase.Editor{User: "u2", Name: "Other", At: time.Now()}
	op := upsert("n3", "x", "33")
	if _, err := s.Apply(ctx, p.ID, op, protocol.OpBody(op, writer), usecase.OpOrder{}, other); !errors.Is(err, domain.ErrForbidden) {
		t.Fatalf("another user's edit of an old paper's element: %v, want ErrForbidden", err)
	}
	// ... its author may.
	ed := usecase.Editor{User: writer.User, Name: writer.Name, At: time.Now()}
	if _, err := s.Apply(ctx, p.ID, op, protocol.OpBody(op, writer), usecase.OpOrder{}, ed); err != nil {
		t.Fatalf("the author's edit of an old paper's element: %v", err)
	}
	for _, k := range []string{"meta", "f", "e", "a"} {
		if enc := do("OBJECT", "ENCODING", key(k)); enc != "hashtable" {
			t.Fatalf("after the op %s is a %s, want a hashtable", k, enc)
		}
		if ms, _ := strconv.ParseInt(do("PTTL", key(k)), 10, 64); ms <= 0 || ms > idle.Milliseconds()*3/2 {
			t.Fatalf("after the op %s expires in %d ms, want the paper's idle expiry", k, ms)
		}
	}
	if rec := do("HGET", key("e"), "n3"); rec != "3 3 x=2|"+writer.User {
		t.Fatalf("n3's record after the op: %q, want it to name its author", rec)
	}
	if ht := do("HGET", key("meta"), "ht"); ht != "1" {
		t.Fatalf("meta ht = %q, want 1", ht)
	}
	// A restart (an RDB load: DEBUG RELOAD) loads them as hashtables again:
	// the pad is longer than hash-max-listpack-value.
	do("DEBUG", "RELOAD")
	for _, k := range []string{"meta", "f", "e", "a"} {
		if enc := do("OBJECT", "ENCODING", key(k)); enc != "hashtable" {
			t.Fatalf("after a reload %s is a %s, want a hashtable", k, enc)
		}
	}

	doc, err := s.Snapshot(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, el := range doc.Elements {
		ids = append(ids, el.ID)
		want := strconv.Itoa(len(ids))
		if el.ID == "n3" {
			want = "33"
		}
		if got := string(el.Fields["x"]); got != want || len(el.Fields) != 1 {
			t.Fatalf("element %s fields %q, want x=%s", el.ID, el.Fields, want)
		}
		if el.By != (domain.ElementAuthor{User: writer.User, Name: writer.Name}) || el.CreatedAt.Unix() != now {
			t.Fatalf("element %s by %q at %v, want %q at %d", el.ID, el.By, el.CreatedAt, writer.User, now)
		}
	}
	if want := strings.Fields("n1 n2 n3 n4 n5 n6 n7 n8 n9 n10"); !reflect.DeepEqual(ids, want) {
		t.Fatalf("snapshot elements %v, want %v", ids, want)
	}
	if doc.Paper.Seq != 1 {
		t.Fatalf("seq %d, want 1", doc.Paper.Seq)
	}

	// The record now names n3's author: the policy holds without the
	// author hash.
	do("HDEL", key("a"), "n3")
	if _, err := s.Apply(ctx, p.ID, op, protocol.OpBody(op, writer), usecase.OpOrder{}, other); !errors.Is(err, domain.ErrForbidden) {
		t.Fatalf("another user's edit, told by the record: %v, want ErrForbidden", err)
	}
	if _, err := s.Apply(ctx, p.ID, op, protocol.OpBody(op, writer), usecase.OpOrder{}, ed); err != nil {
		t.Fatalf("the author's edit, told by the record: %v", err)
	}

	// Finalized, the paper takes no more ops: its hashes are compact
	// listpacks again, without the pad, and it reads the same.
	before, err := s.Snapshot(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	fin, err := s.Finalize(ctx, p.ID, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"meta", "f", "e", "a"} {
		if enc := do("OBJECT", "ENCODING", key(k)); enc != "listpack" {
			t.Fatalf("final paper's %s is a %s, want a listpack", k, enc)
		}
		if do("HEXISTS", key(k), "~") != "0" {
			t.Fatalf("final paper's %s still holds the pad", k)
		}
	}
	after, err := s.Snapshot(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	before.Paper = fin
	if !reflect.DeepEqual(before, after) {
		t.Fatalf("final paper reads\n%+v\nwant\n%+v", after, before)
	}
}

// TestHistoryIsTrimmedInStepsAndServesOnlyItsSize: apply.lua trims the
// history list only once it runs HistorySize/32 frames past its size, and
// History never serves more than the last HistorySize frames meanwhile.
func TestHistoryIsTrimmedInStepsAndServesOnlyItsSize(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	const size = 64 // trimmed every 2 ops
	s := newStore(t, redis.Options{Addrs: []string{srv.Addr()}, HistorySize: size})
	ctx := context.Background()
	p := newPaper(t, s)
	llen := func() int {
		t.Helper()
		v, err := srv.Do("LLEN", "test:{"+p.ID+"}:h")
		if err != nil {
			t.Fatal(err)
		}
		n, _ := strconv.Atoi(v)
		return n
	}
	var frames [][]byte
	for i := 1; i <= size+2; i++ {
		frames = append(frames, apply(t, s, p.ID, upsert("n1", "x", strconv.Itoa(i))))
	}
	if n := llen(); n != size+2 {
		t.Fatalf("history list of %d frames after %d ops, want %d (not trimmed yet)", n, size+2, size+2)
	}
	check := func(cur uint64) {
		t.Helper()
		for _, since := range []uint64{0, cur - size - 1} {
			if _, _, err := s.History(ctx, p.ID, p.Epoch, since); !errors.Is(err, usecase.ErrHistoryGone) {
				t.Fatalf("History since %d at seq %d: %v, want ErrHistoryGone", since, cur, err)
			}
		}
		for _, since := range []uint64{cur - size, cur - 1, cur} {
			evs, got, err := s.History(ctx, p.ID, p.Epoch, since)
			if err != nil || got != cur || uint64(len(evs)) != cur-since {
				t.Fatalf("History since %d at seq %d: %d frames, seq %d, %v", since, cur, len(evs), got, err)
			}
			for i, ev := range evs {
				if want := frames[since+uint64(i)]; string(ev.Frame) != string(want) {
					t.Fatalf("History since %d: frame %d is %q, want %q", since, i, ev.Frame, want)
				}
			}
		}
	}
	check(size + 2)
	frames = append(frames, apply(t, s, p.ID, upsert("n1", "x", "0")))
	if n := llen(); n != size {
		t.Fatalf("history list of %d frames after %d ops, want %d (trimmed)", n, size+3, size)
	}
	check(size + 3)
}
