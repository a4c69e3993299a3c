package redis_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/protocol"
	"github.com/papercast/papercast/repository/redis"
	"github.com/papercast/papercast/usecase"
)

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// newStore connects a store and closes it when the test ends.
func newStore(t testing.TB, o redis.Options) *redis.Store {
	t.Helper()
	if o.KeyPrefix == "" {
		o.KeyPrefix = "test:"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := redis.New(ctx, o, testLogger(t))
	if err != nil {
		t.Fatalf("redis.New: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

func newPaper(t testing.TB, s *redis.Store) domain.Paper {
	t.Helper()
	p, err := s.Create(context.Background(), domain.Paper{
		ID:           usecase.NewPaperID(),
		Title:        "t",
		Status:       domain.StatusOpen,
		CreatedAt:    time.Now(),
		OwnerKeyHash: usecase.HashOwnerKey("k"),
	})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	return p
}

// handler records what a subscription delivers.
type handler struct {
	mu      sync.Mutex
	frames  [][]byte
	resyncs atomic.Int32
	changed chan struct{}
	block   chan struct{} // if set, Event waits for it to close
}

// subscribe subscribes a new handler to the paper until the test ends.
func subscribe(t testing.TB, s *redis.Store, paperID string) *handler {
	t.Helper()
	h := newHandler()
	unsub, err := s.Subscribe(context.Background(), paperID, h)
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	t.Cleanup(unsub)
	return h
}

func newHandler() *handler { return &handler{changed: make(chan struct{}, 1)} }

func (h *handler) Event(frame []byte) {
	if h.block != nil {
		<-h.block
	}
	h.mu.Lock()
	h.frames = append(h.frames, bytes.Clone(frame))
	h.mu.Unlock()
	h.poke()
}

func (h *handler) Resync() { h.resyncs.Add(1); h.poke() }

func (h *handler) poke() {
	select {
	case h.changed <- struct{}{}:
	default:
	}
}

func (h *handler) all() [][]byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.frames)
}

// waitFrame waits until frame has been delivered.
func (h *handler) waitFrame(t testing.TB, frame []byte, timeout time.Duration) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		if slices.ContainsFunc(h.all(), func(f []byte) bool { return bytes.Equal(f, frame) }) {
			return
		}
		select {
		case <-h.changed:
		case <-deadline:
			t.Fatalf("frame %s not delivered within %v; got %q", frame, timeout, h.all())
		}
	}
}

// eventually polls cond until it holds or timeout passes.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// upsert builds an op from name, raw JSON value pairs.
func upsert(id string, kv ...string) domain.Op {
	f := make(map[string]json.RawMessage, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		f[kv[i]] = json.RawMessage(kv[i+1])
	}
	return domain.Op{Kind: domain.OpUpsert, ID: id, Fields: f}
}

var writer = domain.Author{Session: "s1", User: "u1", Name: "Writer"}

// apply applies op and returns its frame.
func apply(t testing.TB, s *redis.Store, paperID string, op domain.Op) []byte {
	t.Helper()
	body := protocol.OpBody(op, writer)
	seq, err := s.Apply(context.Background(), paperID, op, body, usecase.OpOrder{}, usecase.Editor{})
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return protocol.OpFrame(seq, body)
}
