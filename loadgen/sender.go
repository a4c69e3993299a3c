package loadgen

import (
	"container/heap"
	"context"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/gorilla/websocket"
)

// Senders are a few shards, each owning a fixed set of sessions and the
// only goroutine that writes to them (gorilla allows one writer per
// connection). A shard keeps its sessions' next sends in a heap and sleeps
// until the earliest: thousands of sessions cost a handful of goroutines
// and timers instead of one each.

// The payload mix: per op, a delete (re-created by the next op) with
// probability deleteP, a move with moveP, else a typing burst.
const (
	deleteP = 0.02
	moveP   = 0.12
	// maxText bounds a note; past it the session starts a new line, as a
	// person would start a new note.
	maxText = 240
	// earlyOK: a send due within this is sent now rather than slept for;
	// the op still carries its true send time.
	earlyOK = 200 * time.Microsecond
)

// phrase is what sessions type, a few letters per op. Only letters and
// spaces: the receivers scan frames for keys (see frame.go).
const phrase = "happy birthday and thank you for everything you did for the team this year " +
	"we will miss our coffee breaks and your terrible jokes good luck in the new job " +
	"congratulations on the wedding wishing you both a lifetime of happiness "

var colors = [...]string{"#ffd", "#dff", "#fdf", "#dfd", "#fdd"}

type sendEvent struct {
	at       int64 // ns since the run started
	s        *session
	presence bool
}

type eventHeap []sendEvent

func (h eventHeap) Len() int           { return len(h) }
func (h eventHeap) Less(i, j int) bool { return h[i].at < h[j].at }
func (h eventHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)        { *h = append(*h, x.(sendEvent)) }
func (h *eventHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

type shard struct {
	id       int
	r        *runner
	sessions []*session
	rng      *rand.Rand
	buf      []byte
}

// interval is a jittered gap around 1/rate: uniform in [0.5, 1.5]/rate, so
// the mean rate is exact and the sessions never fall into lockstep.
func (sh *shard) interval(rate float64) int64 {
	return int64((0.5 + sh.rng.Float64()) / rate * float64(time.Second))
}

// run sends from t0 until stopAt (ns since the run started).
func (sh *shard) run(ctx context.Context, t0, stopAt int64) {
	cfg := sh.r.cfg
	h := make(eventHeap, 0, 2*len(sh.sessions))
	for _, s := range sh.sessions {
		if cfg.Rate > 0 {
			h = append(h, sendEvent{at: t0 + int64(sh.rng.Float64()/cfg.Rate*float64(time.Second)), s: s})
		}
		if cfg.PresenceRate > 0 {
			h = append(h, sendEvent{at: t0 + int64(sh.rng.Float64()/cfg.PresenceRate*float64(time.Second)), s: s, presence: true})
		}
	}
	heap.Init(&h)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for n := 0; len(h) > 0; n++ {
		now := sh.r.now()
		if now >= stopAt {
			return
		}
		if n&63 == 0 && ctx.Err() != nil {
			return
		}
		ev := &h[0]
		if wait := ev.at - now; wait > int64(earlyOK) {
			timer.Reset(time.Duration(min(wait, stopAt-now)))
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
			continue
		}
		s := ev.s
		if s.dead.Load() {
			heap.Pop(&h)
			continue
		}
		sh.r.lag.record(sh.id, max(0, now-ev.at))
		rate := cfg.Rate
		if ev.presence {
			rate = cfg.PresenceRate
			sh.sendPresence(s)
		} else {
			sh.sendOp(s)
		}
		next := ev.at + sh.interval(rate)
		if next < now-int64(time.Second) {
			// Far behind (the machine is saturated): do not burst to
			// catch up, resume the rate from now.
			next = now
		}
		ev.at = next
		heap.Fix(&h, 0)
	}
}

func (sh *shard) write(s *session, b []byte) bool {
	if err := s.conn.WriteMessage(websocket.TextMessage, b); err != nil {
		s.died(err, "write")
		return false
	}
	return true
}

// sendOp sends the session's next edit of its own note.
func (sh *shard) sendOp(s *session) {
	b := sh.nextOp(s, sh.r.now())
	sh.buf = b
	s.st.sentOps.Add(1)
	if !sh.write(s, b) {
		s.st.sentOps.Add(-1)
	}
}

// nextOp writes the session's next edit, sent at t, into the shard's
// buffer: mostly typing (the text grows by a burst of a few keystrokes),
// sometimes a move, rarely a delete followed, on the next op, by a
// re-create with every field. Every op carries the sender's own counter (in
// its ref, and in its fields when it has any), so that receivers can check
// the sender's order and the sender can match error frames to echoes.
func (sh *shard) nextOp(s *session, t int64) []byte {
	rng := sh.rng
	s.sentN++
	b := sh.buf[:0]
	b = append(b, `{"type":"`...)
	p := rng.Float64()
	switch {
	case s.noteExists && p < deleteP:
		b = append(b, `delete","ref":"`...)
		b = appendRef(b, t, s.sentN)
		b = append(b, `","id":"n`...)
		b = strconv.AppendInt(b, int64(s.idx), 10)
		b = append(b, `"}`...)
		s.noteExists = false
	case s.noteExists && p < deleteP+moveP:
		s.x = clamp(s.x+rng.IntN(81)-40, 0, 2000)
		s.y = clamp(s.y+rng.IntN(81)-40, 0, 1500)
		b = sh.upsertHead(b, s, t)
		b = appendXY(b, s)
		b = append(b, `}}`...)
	case s.noteExists:
		s.typeBurst(rng)
		b = sh.upsertHead(b, s, t)
		b = append(b, `,"text":"`...)
		b = append(b, s.text...)
		b = append(b, `"}}`...)
	default:
		s.x, s.y = rng.IntN(2000), rng.IntN(1500)
		s.text = s.text[:0]
		s.typeBurst(rng)
		b = sh.upsertHead(b, s, t)
		b = append(b, `,"color":"`...)
		b = append(b, colors[s.idx%len(colors)]...)
		b = append(b, `","kind":"note","text":"`...)
		b = append(b, s.text...)
		b = append(b, '"')
		b = appendXY(b, s)
		b = append(b, `}}`...)
		s.noteExists = true
	}
	return b
}

// upsertHead writes `upsert","ref":"T-N","id":"nI","fields":{"n":N,"src":I,"t":T`.
func (sh *shard) upsertHead(b []byte, s *session, t int64) []byte {
	b = append(b, `upsert","ref":"`...)
	b = appendRef(b, t, s.sentN)
	b = append(b, `","id":"n`...)
	b = strconv.AppendInt(b, int64(s.idx), 10)
	b = append(b, `","fields":{"n":`...)
	b = strconv.AppendUint(b, s.sentN, 10)
	b = append(b, `,"src":`...)
	b = strconv.AppendInt(b, int64(s.idx), 10)
	b = append(b, `,"t":`...)
	return strconv.AppendInt(b, t, 10)
}

// appendRef writes an op's ref, "<t>-<n>" (see parseRef): the error frame
// that may answer the op carries only the ref, and the ack's latency needs t.
func appendRef(b []byte, t int64, n uint64) []byte {
	b = strconv.AppendInt(b, t, 10)
	b = append(b, '-')
	return strconv.AppendUint(b, n, 10)
}

func appendXY(b []byte, s *session) []byte {
	b = append(b, `,"x":`...)
	b = strconv.AppendInt(b, int64(s.x), 10)
	b = append(b, `,"y":`...)
	return strconv.AppendInt(b, int64(s.y), 10)
}

// typeBurst appends the next 1-6 characters of the phrase to the note.
func (s *session) typeBurst(rng *rand.Rand) {
	if len(s.text) >= maxText {
		s.text = s.text[:0]
	}
	for n := 1 + rng.IntN(6); n > 0; n-- {
		s.text = append(s.text, phrase[s.phrasePos])
		s.phrasePos = (s.phrasePos + 1) % len(phrase)
	}
}

// sendPresence moves the cursor, and says what it is typing into half the
// time.
func (sh *shard) sendPresence(s *session) {
	b := sh.buf[:0]
	b = append(b, `{"type":"presence","state":{"cursor":{"x":`...)
	b = strconv.AppendInt(b, int64(s.x+sh.rng.IntN(200)), 10)
	b = append(b, `,"y":`...)
	b = strconv.AppendInt(b, int64(s.y+sh.rng.IntN(100)), 10)
	b = append(b, '}')
	if sh.rng.IntN(2) == 0 {
		b = append(b, `,"typing":"n`...)
		b = strconv.AppendInt(b, int64(s.idx), 10)
		b = append(b, '"')
	}
	b = append(b, `}}`...)
	sh.buf = b
	if sh.write(s, b) {
		s.st.sentPresence.Add(1)
	}
}

func clamp(v, lo, hi int) int { return max(lo, min(v, hi)) }
