package ws

import (
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/olahol/melody"

	"github.com/papercast/papercast/protocol"
)

// melodyQueue is the size of melody's own per-session queue. The outbox
// keeps at most one frame in it (plus a close frame or two), so a few slots
// do; melody allocates them for every session at connect.
const melodyQueue = 4

// outbox is a session's send queue in front of melody's. The first frame
// goes to melody at once (no added latency when nothing waits); frames that
// come while it is being written wait here, and when melody's write pump
// reports the frame written (HandleSentMessage) the pump writes all of them
// in one flush cycle of the corked connection: one write(2) for the lot, as
// separate frames, or as one newline-separated frame for a `?batch=1`
// client.
//
// Waiting frames are bounded in count (ws.send_buffer) and bytes
// (ws.send_buffer_bytes); past either the client is closed with 4008. A
// waiting presence update is replaced by a newer presence frame of the
// same session.
type outbox struct {
	mu       sync.Mutex
	inFlight bool // a frame is in melody's queue or being written
	closed   bool // over its bounds: nothing more is queued
	pending  [][]byte
	bytes    int
	// presence maps a session id to the index in pending of its waiting
	// presence update; allocated on the first one.
	presence map[string]int
}

// send queues one frame for the client. It never blocks on the network.
func (sess *session) send(frame []byte) {
	o := &sess.out
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return
	}
	if !o.inFlight {
		o.inFlight = true
		o.mu.Unlock()
		if sess.s.Write(frame) != nil {
			// The session is closed: no write pump will report this frame
			// sent, so nothing more is queued (nor counted as too slow).
			o.mu.Lock()
			o.closed = true
			o.mu.Unlock()
		}
		return
	}
	if o.supersede(frame) {
		o.mu.Unlock()
		return
	}
	o.pending = append(o.pending, frame)
	o.bytes += len(frame)
	over := len(o.pending) > sess.h.opts.SendBuffer || o.bytes > sess.h.opts.SendBufferBytes
	if over {
		o.closed = true
		o.pending, o.bytes, o.presence = nil, 0, nil
	}
	o.mu.Unlock()
	if over {
		sess.h.metrics.SendBufferOverflow()
		sess.closeSlow()
	}
}

// supersede replaces a waiting presence update of the same session by
// frame (an update or a leave) in place; it reports whether it did. A join
// never replaces anything: the client must see it.
func (o *outbox) supersede(frame []byte) bool {
	event, id, ok := protocol.PresenceHeader(frame)
	if !ok || event == protocol.PresenceJoin {
		return false
	}
	if i, ok := o.presence[id]; ok {
		o.bytes += len(frame) - len(o.pending[i])
		o.pending[i] = frame
		if event == protocol.PresenceLeave {
			delete(o.presence, id)
		}
		return true
	}
	if event == protocol.PresenceUpdate {
		if o.presence == nil {
			o.presence = make(map[string]int)
		}
		o.presence[id] = len(o.pending)
	}
	return false
}

// take hands over every waiting frame, or reports nothing waits and marks
// the outbox idle so the next frame goes to melody at once.
func (o *outbox) take() [][]byte {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.pending) == 0 || o.closed {
		o.inFlight = false
		o.pending, o.bytes, o.presence = nil, 0, nil
		return nil
	}
	frames := o.pending
	o.pending, o.bytes = nil, 0
	clear(o.presence)
	return frames
}

// onSent runs in the session's write pump after each text frame is written:
// the pump is then the connection's only writer (besides control frames,
// which gorilla allows beside it), so it writes what waited meanwhile
// itself, corked, and again until nothing waits.
func (h *Handler) onSent(s *melody.Session, _ []byte) {
	sess := sessionOf(s)
	if sess == nil {
		return
	}
	for {
		frames := sess.out.take()
		if frames == nil {
			return
		}
		if err := sess.writeCorked(frames); err != nil {
			sess.h.log.Debug("write failed", "paper", sess.req.PaperID, "err", err)
			_ = s.WebsocketConnection().Close() // the read pump ends the session
			sess.out.mu.Lock()
			sess.out.closed = true
			sess.out.mu.Unlock()
			return
		}
	}
}

// writeCorked writes frames in one flush of the corked connection: each as
// its own frame, or, for a batch client, joined by newlines into frames of
// at most batchBytes.
func (sess *session) writeCorked(frames [][]byte) error {
	c := sess.s.WebsocketConnection()
	cc := sess.cork
	if cc != nil {
		cc.cork()
	}
	err := sess.writeFrames(c, frames)
	if cc != nil {
		if ferr := cc.flush(); err == nil {
			err = ferr
		}
	}
	return err
}

func (sess *session) writeFrames(c *websocket.Conn, frames [][]byte) error {
	_ = c.SetWriteDeadline(time.Now().Add(sess.h.opts.WriteWait))
	if !sess.batch {
		for _, f := range frames {
			if err := c.WriteMessage(websocket.TextMessage, f); err != nil {
				return err
			}
		}
		return nil
	}
	bp := getBuf()
	defer putBuf(bp)
	b := (*bp)[:0]
	for _, f := range frames {
		if len(b) > 0 && len(b)+1+len(f) > batchBytes {
			if err := c.WriteMessage(websocket.TextMessage, b); err != nil {
				return err
			}
			b = b[:0]
		}
		if len(b) > 0 {
			b = append(b, '\n')
		}
		b = append(b, f...)
	}
	err := c.WriteMessage(websocket.TextMessage, b)
	*bp = b
	return err
}

// Server frames are compact JSON (protocol's encoders; stored values are
// compacted on the way in), so a newline never occurs inside one: it
// separates the events of a batch frame.
//
// batchBytes caps one batch frame: a client's read limit is likely about
// this; more waiting frames go as further batch frames in the same flush.
const batchBytes = 64 << 10
