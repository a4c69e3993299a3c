package redis_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/internal/redistest"
	"github.com/papercast/papercast/paper"
	"github.com/papercast/papercast/protocol"
	"github.com/papercast/papercast/repository/redis"
	"github.com/papercast/papercast/usecase"
)

// TestValuesAreStoredAndPublishedByteForByte: the scripts never re-encode
// JSON (Lua's cjson would turn 1.0e10 into 10000000000, lose big integers
// and make [] and {} the same).
func TestValuesAreStoredAndPublishedByteForByte(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	s := newStore(t, redis.Options{Addrs: []string{srv.Addr()}})
	ctx := context.Background()
	p := newPaper(t, s)
	values := map[string]string{
		"exp":    `1.0e10`,
		"big":    `123456789012345678901234567890`,
		"neg0":   `-0`,
		"arr":    `[]`,
		"obj":    `{}`,
		"nested": `{"a":[1,2,{}],"b":null}`,
		"uni":    `"é\u00e9 🎉 \"q\" <b>"`,
		"float":  `0.1000000000000000055511151231257827`,
	}
	var kv []string
	for k, v := range values {
		kv = append(kv, k, v)
	}
	h := subscribe(t, s, p.ID)
	frame := apply(t, s, p.ID, upsert("n1", kv...))
	h.waitFrame(t, frame, 5*time.Second)
	doc, err := s.Snapshot(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Elements) != 1 {
		t.Fatalf("elements: %+v", doc.Elements)
	}
	for k, v := range values {
		if got := string(doc.Elements[0].Fields[k]); got != v {
			t.Errorf("field %s stored as %s, want %s", k, got, v)
		}
	}
	evs, _, err := s.History(ctx, p.ID, p.Epoch, 0)
	if err != nil || len(evs) != 1 || string(evs[0].Frame) != string(frame) {
		t.Fatalf("History = %v, %v; want the published frame %s", evs, err, frame)
	}
	if evs[0].Kind != domain.EventOp || evs[0].Seq != 1 {
		t.Fatalf("History event kind %q seq %d", evs[0].Kind, evs[0].Seq)
	}
}

// TestLimitsMatchCheckMerge: over a random walk of upserts and deletes,
// Apply accepts exactly the ops paper.Limits.CheckMerge accepts (and
// refuses deletes of missing elements), and the document is paper.Merge of
// the accepted ops in creation order.
func TestLimitsMatchCheckMerge(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	limits := paper.Limits{MaxFields: 4, MaxValueBytes: 40, MaxElementBytes: 100, MaxElements: 5, MaxPresenceBytes: 64, MaxTitleChars: 10, MaxToChars: 10}
	s := newStore(t, redis.Options{Addrs: []string{srv.Addr()}, Limits: limits})
	ctx := context.Background()
	p := newPaper(t, s)
	rng := rand.New(rand.NewPCG(1, 2))

	type elem struct {
		id     string
		fields map[string]json.RawMessage
	}
	var model []elem
	find := func(id string) int {
		return slices.IndexFunc(model, func(e elem) bool { return e.id == id })
	}
	names := []string{"a", "bb", "ccc", "d", "e", "f"}
	var accepted, refused int
	for i := range 600 {
		id := fmt.Sprintf("n%d", rng.IntN(8))
		var op domain.Op
		if rng.IntN(6) == 0 {
			op = domain.Op{Kind: domain.OpDelete, ID: id}
		} else {
			op = domain.Op{Kind: domain.OpUpsert, ID: id, Fields: map[string]json.RawMessage{}}
			for range 1 + rng.IntN(4) {
				v := json.RawMessage("null")
				if rng.IntN(4) != 0 {
					v = json.RawMessage(`"` + strings.Repeat("x", rng.IntN(38)) + `"`)
				}
				op.Fields[names[rng.IntN(len(names))]] = v
			}
		}
		j := find(id)
		var want error
		if op.Kind == domain.OpDelete {
			if j < 0 {
				want = domain.ErrNotFound
			}
		} else {
			var existing map[string]json.RawMessage
			if j >= 0 {
				existing = model[j].fields
			}
			want = limits.CheckMerge(existing, op.Fields, len(model))
		}
		_, err := s.Apply(ctx, p.ID, op, protocol.OpBody(op, writer), usecase.OpOrder{}, usecase.Editor{})
		switch {
		case want == nil && err != nil:
			t.Fatalf("op %d %+v: Apply refused (%v), CheckMerge accepts", i, op, err)
		case errors.Is(want, domain.ErrNotFound) && !errors.Is(err, domain.ErrNotFound),
			errors.Is(want, domain.ErrTooLarge) && !errors.Is(err, domain.ErrTooLarge):
			t.Fatalf("op %d %+v: Apply gave %v, want %v", i, op, err, want)
		}
		if want != nil {
			refused++
			continue
		}
		accepted++
		switch {
		case op.Kind == domain.OpDelete:
			model = slices.Delete(model, j, j+1)
		case j < 0:
			model = append(model, elem{id, paper.Merge(nil, op.Fields)})
		default:
			model[j].fields = paper.Merge(model[j].fields, op.Fields)
		}
	}
	if accepted < 100 || refused < 50 {
		t.Fatalf("the walk proved little: %d accepted, %d refused", accepted, refused)
	}
	doc, err := s.Snapshot(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if doc.Paper.Seq != uint64(accepted) {
		t.Fatalf("seq %d after %d accepted ops", doc.Paper.Seq, accepted)
	}
	if len(doc.Elements) != len(model) {
		t.Fatalf("%d elements, model has %d", len(doc.Elements), len(model))
	}
	for i, el := range doc.Elements {
		if el.ID != model[i].id || fmt.Sprint(el.Fields) != fmt.Sprint(model[i].fields) {
			t.Fatalf("element %d = %s %s, want %s %s", i, el.ID, el.Fields, model[i].id, model[i].fields)
		}
	}
}

// TestDeleteLeavesOnlyExpiringKeys: every key of a paper, presence
// included, goes, except its sessions' order keys (usecase.OpOrder), which a
// script cannot list and which expire by themselves within OpOrderMemory.
func TestDeleteLeavesOnlyExpiringKeys(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	s := newStore(t, redis.Options{Addrs: []string{srv.Addr()}})
	ctx := context.Background()
	p := newPaper(t, s)
	apply(t, s, p.ID, upsert("n1", "a", "1", "b", `"x"`))
	op := upsert("n1", "a", "2")
	if _, err := s.Apply(ctx, p.ID, op, protocol.OpBody(op, writer), usecase.OpOrder{Session: writer.Session, N: 1}, usecase.Editor{}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPresence(ctx, p.ID, domain.Presence{Session: "s1", User: "u", State: json.RawMessage(`{}`)}, protocol.PresenceJoin); err != nil {
		t.Fatal(err)
	}
	if err := s.Ban(ctx, p.ID, "troll"); err != nil {
		t.Fatal(err)
	}
	pattern := "test:{" + p.ID + "}*"
	keys := channels(t, srv, "KEYS", pattern)
	for _, k := range []string{"meta", "f", "e", "h", "a", "b", "p", "pl", "pz"} {
		if !slices.Contains(keys, "test:{"+p.ID+"}:"+k) {
			t.Fatalf("no key %s before Delete: %q", k, keys)
		}
	}
	if err := s.Delete(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	order := "test:{" + p.ID + "}:o:" + writer.Session
	if keys := channels(t, srv, "KEYS", pattern); len(keys) != 1 || keys[0] != order {
		t.Fatalf("keys left after Delete: %q, want only %s", keys, order)
	}
	ttl, err := srv.Do("PTTL", order)
	if err != nil {
		t.Fatal(err)
	}
	if ms, _ := strconv.ParseInt(ttl, 10, 64); ms <= 0 || ms > usecase.OpOrderMemory.Milliseconds() {
		t.Fatalf("order key expires in %s ms, want within %v", ttl, usecase.OpOrderMemory)
	}
}

// TestPapersStoredBeforePoliciesAreOpen: a paper stored by an earlier
// version has no edit policy and its elements no author record. It keeps
// the behaviour it was created with (anyone edits anything) until its owner
// sets a policy, and its elements carry no by or createdAt.
func TestPapersStoredBeforePoliciesAreOpen(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	s := newStore(t, redis.Options{Addrs: []string{srv.Addr()}})
	ctx := context.Background()
	p := newPaper(t, s)
	apply(t, s, p.ID, upsert("n1", "a", "1"))
	// What an earlier version left in Redis.
	for _, cmd := range [][]string{{"HDEL", "test:{" + p.ID + "}:meta", "edit"}, {"DEL", "test:{" + p.ID + "}:a"}} {
		if _, err := srv.Do(cmd...); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Paper(ctx, p.ID)
	if err != nil || got.Edit != domain.EditOpen {
		t.Fatalf("Paper: edit %q, %v; want open", got.Edit, err)
	}
	other := usecase.Editor{User: "someone-else"}
	if _, err := s.Apply(ctx, p.ID, upsert("n1", "a", "2"), []byte(`"op":"x"}`), usecase.OpOrder{}, other); err != nil {
		t.Fatalf("edit of an old paper's element: %v", err)
	}
	doc, err := s.Snapshot(ctx, p.ID)
	if err != nil || len(doc.Elements) != 1 || doc.Elements[0].By != (domain.ElementAuthor{}) || !doc.Elements[0].CreatedAt.IsZero() {
		t.Fatalf("Snapshot: %+v, %v; want n1 without author", doc.Elements, err)
	}
	// Once the owner chooses authors, an element without an author is the
	// owner's to change.
	if _, err := s.SetEdit(ctx, p.ID, domain.EditAuthors); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Apply(ctx, p.ID, upsert("n1", "a", "3"), []byte(`"op":"x"}`), usecase.OpOrder{}, other); !errors.Is(err, domain.ErrForbidden) {
		t.Fatalf("edit under authors of an element without author: %v, want ErrForbidden", err)
	}
	other.Owner = true
	if _, err := s.Apply(ctx, p.ID, upsert("n1", "a", "3"), []byte(`"op":"x"}`), usecase.OpOrder{}, other); err != nil {
		t.Fatalf("owner edit: %v", err)
	}
}

// TestPresenceKeysExpireWhenNobodyTouchesThem: a paper whose replicas all
// died leaves no presence keys behind.
func TestPresenceKeysExpireWhenNobodyTouchesThem(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	const ttl = 300 * time.Millisecond
	s := newStore(t, redis.Options{Addrs: []string{srv.Addr()}, PresenceTTL: ttl})
	ctx := context.Background()
	p := newPaper(t, s)
	if err := s.SetPresence(ctx, p.ID, domain.Presence{Session: "s1", User: "u", State: json.RawMessage(`{}`)}, protocol.PresenceJoin); err != nil {
		t.Fatal(err)
	}
	pattern := "test:{" + p.ID + "}:p*"
	if keys := channels(t, srv, "KEYS", pattern); len(keys) != 3 {
		t.Fatalf("presence keys: %q", keys)
	}
	eventually(t, 5*time.Second, "presence keys expire", func() bool {
		return len(channels(t, srv, "KEYS", pattern)) == 0
	})
}

// TestFinalizeFrameIsProtocolFinalizedFrame.
func TestFinalizeFrameIsProtocolFinalizedFrame(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	s := newStore(t, redis.Options{Addrs: []string{srv.Addr()}})
	ctx := context.Background()
	p := newPaper(t, s)
	apply(t, s, p.ID, upsert("n1", "a", "1"))
	h := subscribe(t, s, p.ID)
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	got, err := s.Finalize(ctx, p.ID, at)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != domain.StatusFinal || got.Seq != 2 || got.FinalizedAt == nil || !got.FinalizedAt.Equal(at) {
		t.Fatalf("Finalize = %+v", got)
	}
	h.waitFrame(t, protocol.FinalizedFrame(2), 5*time.Second)
}

func TestOptionsAreValidated(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, o := range []redis.Options{
		{},
		{Addrs: []string{"127.0.0.1:1"}, Mode: "bogus"},
		{Addrs: []string{"127.0.0.1:1"}, Mode: redis.ModeSentinel},
		{Addrs: []string{"127.0.0.1:1"}, Mode: redis.ModeCluster, DB: 2},
		{Addrs: []string{"127.0.0.1:1"}, KeyPrefix: "a{b}"},
		{Addrs: []string{"127.0.0.1:1"}, HistorySize: -1},
		{Addrs: []string{"127.0.0.1:1"}, Limits: paper.Limits{MaxFields: 1}},
		{Addrs: []string{"127.0.0.1:1"}, WaitReplicas: -1},
		{Addrs: []string{"127.0.0.1:1"}, WaitTimeout: time.Microsecond},
		{Addrs: []string{"127.0.0.1:1"}, WaitReplicas: 1, WaitTimeout: time.Second, CommandTimeout: time.Second},
	} {
		if s, err := redis.New(ctx, o, nil); err == nil {
			s.Close()
			t.Errorf("New(%v) accepted bad options", o)
		}
	}
}

func TestOptionsNeverShowThePassword(t *testing.T) {
	t.Parallel()
	o := redis.Options{Addrs: []string{"127.0.0.1:1"}, Username: "app", Password: "hunter2"}
	var b strings.Builder
	slog.New(slog.NewJSONHandler(&b, nil)).Info("config", "redis", o)
	fmt.Fprintf(&b, "%v %+v %s", o, o, o)
	if strings.Contains(b.String(), "hunter2") {
		t.Fatalf("password shown: %s", b.String())
	}
	if !strings.Contains(b.String(), "app") {
		t.Fatalf("options not shown at all: %s", b.String())
	}
}

// observations records what a store's Observer is told.
type observations struct {
	mu    sync.Mutex
	count map[string]int
}

func (o *observations) ObserveRedis(command string, _ time.Duration, _ error) {
	o.mu.Lock()
	o.count[command]++
	o.mu.Unlock()
}
func (o *observations) Resubscribed() {}

// TestPipelinedScriptsAreObservedByName: the heartbeat sends its touches as
// one pipelined batch; each script in it still counts in the Redis metrics,
// under its own name.
func TestPipelinedScriptsAreObservedByName(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	obs := &observations{count: map[string]int{}}
	s := newStore(t, redis.Options{Addrs: []string{srv.Addr()}, Observer: obs})
	touches := make([]usecase.PresenceTouch, 3)
	for i := range touches {
		touches[i] = usecase.PresenceTouch{PaperID: newPaper(t, s).ID, Sessions: []string{"s1"}}
	}
	for i, res := range s.TouchPresence(context.Background(), touches) {
		if res.Err != nil || len(res.Missing) != 1 {
			t.Fatalf("touch %d: missing %v, err %v", i, res.Missing, res.Err)
		}
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if obs.count["presence_touch"] != len(touches) {
		t.Fatalf("observed %v, want presence_touch x%d", obs.count, len(touches))
	}
}

// TestApplyScriptRefusesAnUnknownOpKind: apply.lua answers an op kind it
// does not know with an error and writes nothing, instead of taking it for
// an upsert (a kind added in Go but not in the script must fail loudly).
func TestApplyScriptRefusesAnUnknownOpKind(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	s := newStore(t, redis.Options{Addrs: []string{srv.Addr()}})
	ctx := context.Background()
	p := newPaper(t, s)
	op := domain.Op{Kind: "move", ID: "n1", Fields: map[string]json.RawMessage{"x": json.RawMessage("1")}}
	seq, err := redis.ApplyAsKind(ctx, s, p.ID, "m", op, protocol.OpBody(op, writer))
	if !errors.Is(err, domain.ErrUnsupported) {
		t.Fatalf("unknown kind: seq %d, err %v; want ErrUnsupported", seq, err)
	}
	doc, err := s.Snapshot(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if doc.Paper.Seq != 0 || len(doc.Elements) != 0 {
		t.Fatalf("refused op wrote: seq %d, elements %+v", doc.Paper.Seq, doc.Elements)
	}
}
