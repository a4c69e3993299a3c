package storetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/paper"
	"github.com/papercast/papercast/protocol"
	"github.com/papercast/papercast/usecase"
)

// env wraps an Env with the suite's helpers.
type env struct {
	Env
}

func (e *env) check(t *testing.T) {
	t.Helper()
	if e.Store == nil || e.Presence == nil || e.Bus == nil {
		t.Fatal("storetest: Env needs Store, Presence and Bus")
	}
	l := e.Limits
	if l.MaxFields < 4 || l.MaxElements < 4 || l.MaxValueBytes < 24 {
		t.Fatalf("storetest: limits too small for the suite (need MaxFields>=4, MaxElements>=4, MaxValueBytes>=24): %+v", l)
	}
	if _, ok := sizedFields(l, l.MaxElementBytes+1); !ok {
		t.Fatalf("storetest: an element of MaxElementBytes+1 bytes cannot be built from MaxFields valid fields: %+v", l)
	}
	if e.HistorySize < 8 || e.HistorySize > 10000 {
		t.Fatalf("storetest: HistorySize %d outside 8..10000", e.HistorySize)
	}
	if e.PresenceTTL <= 0 {
		t.Fatal("storetest: PresenceTTL must be set")
	}
	if e.OpenIdle <= 0 {
		t.Fatal("storetest: OpenIdle must be set")
	}
}

func (e *env) waitTimeout() time.Duration {
	if e.WaitTimeout > 0 {
		return e.WaitTimeout
	}
	return defaultWaitTimeout
}

// pass lets presence (and retention) time go by: with Advance it moves the store's clock,
// otherwise it sleeps.
func (e *env) pass(d time.Duration) {
	if e.Advance != nil {
		e.Advance(d)
		return
	}
	time.Sleep(d)
}

var author = domain.Author{Session: "sess-1", User: "user-1", Name: "Ada \"the\" Writer"}

// editor applies the suite's ops as author: the author of every element
// they create.
var editor = usecase.Editor{User: author.User, Name: author.Name, At: time.Date(2026, 11, 25, 18, 39, 38, 0, time.UTC)}

// newPaper creates an open paper with a fresh random id.
func (e *env) newPaper(t *testing.T) domain.Paper {
	t.Helper()
	p, err := e.Store.Create(t.Context(), paperFixture())
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	return p
}

func paperFixture() domain.Paper {
	return domain.Paper{
		ID:           usecase.NewPaperID(),
		Title:        `Happy "birthday" 🎉 <b>&</b>`,
		To:           "Grace",
		Status:       domain.StatusOpen,
		CreatedAt:    time.Now().UTC().Truncate(time.Second),
		OwnerKeyHash: usecase.HashOwnerKey("owner-key"),
	}
}

// applied is one op the store accepted.
type applied struct {
	op   domain.Op
	body []byte
	seq  uint64
}

func (a applied) frame() []byte { return protocol.OpFrame(a.seq, a.body) }

// apply applies op and fails the test on error.
func (e *env) apply(t *testing.T, id string, op domain.Op) applied {
	t.Helper()
	return e.applyAs(t, id, op, usecase.OpOrder{})
}

// applyAs applies op at order in its session and fails the test on error.
func (e *env) applyAs(t *testing.T, id string, op domain.Op, order usecase.OpOrder) applied {
	t.Helper()
	body := protocol.OpBody(op, author)
	seq, err := e.Store.Apply(t.Context(), id, op, body, order, editor)
	if err != nil {
		t.Fatalf("Apply %s %s: %v", op.Kind, op.ID, err)
	}
	return applied{op: op, body: body, seq: seq}
}

// applyAll applies ops in order and checks they take consecutive seqs
// starting after from.
func (e *env) applyAll(t *testing.T, id string, from uint64, ops []domain.Op) []applied {
	t.Helper()
	out := make([]applied, 0, len(ops))
	for i, op := range ops {
		a := e.apply(t, id, op)
		if want := from + uint64(i) + 1; a.seq != want {
			t.Fatalf("op %d (%s %s) got seq %d, want %d", i, op.Kind, op.ID, a.seq, want)
		}
		out = append(out, a)
	}
	return out
}

func (e *env) seqOf(t *testing.T, id string) uint64 {
	t.Helper()
	p, err := e.Store.Paper(t.Context(), id)
	if err != nil {
		t.Fatalf("Paper: %v", err)
	}
	return p.Seq
}

func (e *env) snapshot(t *testing.T, id string) domain.Document {
	t.Helper()
	doc, err := e.Store.Snapshot(t.Context(), id)
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	return doc
}

// op builders. Values are raw JSON: up("n1", "text", `"hi"`, "x", `1`).
func up(id string, kv ...string) domain.Op {
	if len(kv)%2 != 0 {
		panic("up: odd field list")
	}
	f := make(map[string]json.RawMessage, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		f[kv[i]] = json.RawMessage(kv[i+1])
	}
	return domain.Op{Kind: domain.OpUpsert, ID: id, Fields: f}
}

func upFields(id string, f map[string]json.RawMessage) domain.Op {
	return domain.Op{Kind: domain.OpUpsert, ID: id, Fields: f}
}

func del(id string) domain.Op { return domain.Op{Kind: domain.OpDelete, ID: id} }

func el(id string, kv ...string) domain.Element {
	return domain.Element{ID: id, Fields: up(id, kv...).Fields}
}

// strValue is a JSON string value of exactly n bytes (n >= 2).
func strValue(n int) json.RawMessage {
	return json.RawMessage(`"` + strings.Repeat("x", n-2) + `"`)
}

// sizedFields builds fields f00, f01, ... whose paper.ElementSize is exactly
// total, each value at most MaxValueBytes-1 bytes (so one more byte still
// makes a valid op) and at most MaxFields fields. ok is false when the limits
// make that impossible.
func sizedFields(l paper.Limits, total int) (map[string]json.RawMessage, bool) {
	const nameLen = 3
	per := nameLen + l.MaxValueBytes - 1
	k := (total + per - 1) / per
	if k < 1 {
		k = 1
	}
	if k > l.MaxFields || k > 100 {
		return nil, false
	}
	values := total - k*nameLen
	if values < 2*k {
		return nil, false
	}
	f := make(map[string]json.RawMessage, k)
	for i := range k {
		n := values / k
		if i < values%k {
			n++
		}
		f[fmt.Sprintf("f%02d", i)] = strValue(n)
	}
	return f, true
}

// model is the reference document: paper.Merge on elements in creation
// order. Replaying a paper's op frames into it gives what the store must hold.
type model struct {
	order  []string
	fields map[string]map[string]json.RawMessage
}

func newModel() *model { return &model{fields: map[string]map[string]json.RawMessage{}} }

func (m *model) apply(op domain.Op) {
	switch op.Kind {
	case domain.OpUpsert:
		f, ok := m.fields[op.ID]
		if !ok {
			m.order = append(m.order, op.ID)
		}
		m.fields[op.ID] = paper.Merge(f, op.Fields)
	case domain.OpDelete:
		delete(m.fields, op.ID)
		m.order = slices.DeleteFunc(m.order, func(id string) bool { return id == op.ID })
	}
}

func (m *model) elements() []domain.Element {
	out := make([]domain.Element, 0, len(m.order))
	for _, id := range m.order {
		out = append(out, domain.Element{ID: id, Fields: m.fields[id]})
	}
	return out
}

// opFrame is an op frame as a client reads it.
type opFrame struct {
	Type   string                     `json:"type"`
	Seq    uint64                     `json:"seq"`
	Op     string                     `json:"op"`
	ID     string                     `json:"id"`
	Fields map[string]json.RawMessage `json:"fields"`
}

func decodeOpFrame(frame []byte) (opFrame, error) {
	var f opFrame
	if err := json.Unmarshal(frame, &f); err != nil {
		return f, fmt.Errorf("decode frame %s: %w", frame, err)
	}
	return f, nil
}

// diffElements describes how got differs from want ("" when equal). Field
// values must be equal byte for byte: stores keep what clients sent.
func diffElements(got, want []domain.Element) string {
	ids := func(els []domain.Element) []string {
		out := make([]string, len(els))
		for i, e := range els {
			out[i] = e.ID
		}
		return out
	}
	if !slices.Equal(ids(got), ids(want)) {
		return fmt.Sprintf("element ids (in order) %q, want %q", ids(got), ids(want))
	}
	for i := range got {
		g, w := got[i].Fields, want[i].Fields
		if len(g) != len(w) {
			return fmt.Sprintf("element %s has fields %s, want %s", got[i].ID, fieldsString(g), fieldsString(w))
		}
		for k, wv := range w {
			if gv, ok := g[k]; !ok || !bytes.Equal(gv, wv) {
				return fmt.Sprintf("element %s has fields %s, want %s", got[i].ID, fieldsString(g), fieldsString(w))
			}
		}
	}
	return ""
}

func fieldsString(f map[string]json.RawMessage) string {
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s:%s", k, f[k])
	}
	b.WriteByte('}')
	return b.String()
}

// diffPaper describes how got differs from want in the stored metadata.
func diffPaper(got, want domain.Paper) string {
	var d []string
	if got.ID != want.ID {
		d = append(d, fmt.Sprintf("ID %q want %q", got.ID, want.ID))
	}
	if got.Title != want.Title {
		d = append(d, fmt.Sprintf("Title %q want %q", got.Title, want.Title))
	}
	if got.To != want.To {
		d = append(d, fmt.Sprintf("To %q want %q", got.To, want.To))
	}
	if got.Status != want.Status {
		d = append(d, fmt.Sprintf("Status %q want %q", got.Status, want.Status))
	}
	if got.Seq != want.Seq {
		d = append(d, fmt.Sprintf("Seq %d want %d", got.Seq, want.Seq))
	}
	if got.Epoch != want.Epoch {
		d = append(d, fmt.Sprintf("Epoch %q want %q", got.Epoch, want.Epoch))
	}
	if !got.CreatedAt.Equal(want.CreatedAt) {
		d = append(d, fmt.Sprintf("CreatedAt %v want %v", got.CreatedAt, want.CreatedAt))
	}
	switch {
	case (got.FinalizedAt == nil) != (want.FinalizedAt == nil):
		d = append(d, fmt.Sprintf("FinalizedAt %v want %v", got.FinalizedAt, want.FinalizedAt))
	case got.FinalizedAt != nil && !got.FinalizedAt.Equal(*want.FinalizedAt):
		d = append(d, fmt.Sprintf("FinalizedAt %v want %v", *got.FinalizedAt, *want.FinalizedAt))
	}
	if !bytes.Equal(got.OwnerKeyHash, want.OwnerKeyHash) {
		d = append(d, fmt.Sprintf("OwnerKeyHash %x want %x", got.OwnerKeyHash, want.OwnerKeyHash))
	}
	return strings.Join(d, "; ")
}

// wantErr fails unless err matches target (nil target: no error).
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	switch {
	case target == nil && err != nil:
		t.Fatalf("%s: unexpected error %v", what, err)
	case target != nil && !errors.Is(err, target):
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

// recorder is a BusHandler that keeps every frame and checks the handler
// contract from the receiving side: calls never overlap, and a healthy bus
// never asks for a resync.
type recorder struct {
	timeout time.Duration

	mu      sync.Mutex
	frames  [][]byte
	changed chan struct{} // capacity 1

	inCall   atomic.Int32
	overlaps atomic.Int32
	resyncs  atomic.Int32
}

func newRecorder(timeout time.Duration) *recorder {
	return &recorder{timeout: timeout, changed: make(chan struct{}, 1)}
}

func (r *recorder) Event(frame []byte) {
	if r.inCall.Add(1) > 1 {
		r.overlaps.Add(1)
	}
	r.mu.Lock()
	r.frames = append(r.frames, bytes.Clone(frame))
	r.mu.Unlock()
	r.inCall.Add(-1)
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

func (r *recorder) Resync() { r.resyncs.Add(1) }

func (r *recorder) all() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.frames)
}

// waitN waits until at least n frames arrived and returns all of them.
func (r *recorder) waitN(t *testing.T, n int) [][]byte {
	t.Helper()
	deadline := time.NewTimer(r.timeout)
	defer deadline.Stop()
	for {
		if got := r.all(); len(got) >= n {
			r.checkContract(t)
			return got
		}
		select {
		case <-r.changed:
		case <-deadline.C:
			got := r.all()
			t.Fatalf("waited %v for %d frames, got %d:\n%s", r.timeout, n, len(got), framesString(got))
		}
	}
}

// waitFor waits until the last frame received equals frame, and returns
// every frame received up to it. Used as a barrier: per-subscription order
// means anything published before frame has been delivered too.
func (r *recorder) waitFor(t *testing.T, frame []byte) [][]byte {
	t.Helper()
	deadline := time.NewTimer(r.timeout)
	defer deadline.Stop()
	for {
		got := r.all()
		for i, f := range got {
			if bytes.Equal(f, frame) {
				r.checkContract(t)
				return got[:i+1]
			}
		}
		select {
		case <-r.changed:
		case <-deadline.C:
			t.Fatalf("waited %v for frame %s, got:\n%s", r.timeout, frame, framesString(got))
		}
	}
}

func (r *recorder) checkContract(t *testing.T) {
	t.Helper()
	if n := r.overlaps.Load(); n > 0 {
		t.Fatalf("handler calls of one subscription overlapped %d times", n)
	}
	if n := r.resyncs.Load(); n > 0 {
		t.Fatalf("a healthy bus called Resync %d times", n)
	}
}

// subscribe subscribes a new recorder to a paper until the test ends (or
// the returned unsubscribe is called, which is safe to call again).
func (e *env) subscribe(t *testing.T, paperID string) (*recorder, func()) {
	t.Helper()
	r := newRecorder(e.waitTimeout())
	unsub, err := e.Bus.Subscribe(t.Context(), paperID, r)
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	var once sync.Once
	stop := func() { once.Do(unsub) }
	t.Cleanup(stop)
	return r, stop
}

// wantFrames fails unless got equals want exactly (same frames, same order).
func wantFrames(t *testing.T, what string, got, want [][]byte) {
	t.Helper()
	if len(got) != len(want) || !slices.EqualFunc(got, want, bytes.Equal) {
		t.Fatalf("%s: got frames:\n%s\nwant:\n%s", what, framesString(got), framesString(want))
	}
}

func framesString(fs [][]byte) string {
	if len(fs) == 0 {
		return "  (none)"
	}
	var b strings.Builder
	for i, f := range fs {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "  %s", f)
	}
	return b.String()
}

func framesOf(as []applied) [][]byte {
	out := make([][]byte, len(as))
	for i, a := range as {
		out[i] = a.frame()
	}
	return out
}

func eventFrames(evs []domain.Event) [][]byte {
	out := make([][]byte, len(evs))
	for i, ev := range evs {
		out[i] = ev.Frame
	}
	return out
}

// barrier publishes a presence join on the paper and waits for it: every
// frame published before it has then been delivered to r. It returns those
// frames, barriers' own frames excluded. The barrier's presence entry stays,
// so tests that list presence do not use it.
func (e *env) barrier(t *testing.T, r *recorder, paperID string) [][]byte {
	t.Helper()
	p := domain.Presence{Session: "~barrier-" + usecase.NewSessionID(), User: "barrier", Name: "barrier", State: json.RawMessage(`{}`)}
	if err := e.Presence.SetPresence(t.Context(), paperID, p, protocol.PresenceJoin); err != nil {
		t.Fatalf("SetPresence (barrier): %v", err)
	}
	got := r.waitFor(t, protocol.PresenceFrame(protocol.PresenceJoin, p))
	// Drop earlier barriers' frames too, so a test may barrier many times.
	return slices.DeleteFunc(got[:len(got)-1], func(f []byte) bool {
		return bytes.HasPrefix(f, []byte(barrierPrefix))
	})
}

// barrierPrefix starts every barrier's frame.
const barrierPrefix = `{"type":"presence","event":"join","session":"~barrier-`
