package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

// paperState is one paper of the run.
type paperState struct {
	id     string
	target string
	// alive is how many of the run's sessions are connected to the paper:
	// each acked op is expected that many times.
	alive atomic.Int64
}

// sessionStats are one session's counters. Each is written by one goroutine
// (its reader, or its shard's sender for sent*) and summed at the end, so
// the atomics are uncontended.
type sessionStats struct {
	sentOps      atomic.Int64
	sentPresence atomic.Int64
	acked        atomic.Int64
	ackedWin     atomic.Int64 // acks received inside the measured window
	opErrors     atomic.Int64 // error frames answering an op (with a ref)
	expected     atomic.Int64 // deliveries the acked ops of this sender owe the paper
	received     atomic.Int64 // op frames in seq order (duplicates excluded)
	deliveredWin atomic.Int64 // of which received inside the window
	ownEchoes    atomic.Int64
	duplicates   atomic.Int64
	outOfOrder   atomic.Int64
	gapMissing   atomic.Int64 // seqs skipped over by out-of-order frames
	// senderOutOfOrder counts op frames that came after a later op of the
	// same sender (by the sender's own counter "n"), at this receiver.
	senderOutOfOrder atomic.Int64
	// erroredDelivered counts this sender's ops answered with an error
	// frame whose op frame came back anyway (the op was stored).
	erroredDelivered atomic.Int64
	presence         atomic.Int64
	presenceWin      atomic.Int64
}

// session is one WebSocket client.
type session struct {
	r      *runner
	idx    int
	paper  *paperState
	target string
	conn   *websocket.Conn
	joinNs int64
	dead   atomic.Bool
	st     sessionStats

	// Owned by the reader goroutine.
	lastSeq uint64
	// lastN is the highest op counter seen from each sender of the paper,
	// indexed by the sender's place on it (idx / papers).
	lastN []uint64
	// answers holds, per own op counter, whether an error frame answered
	// the op (answerError) and whether its op frame came back (answerEcho).
	answers []uint8

	// Owned by the session's sender shard.
	sentN      uint64 // counter of the last op sent (the first op is 1)
	noteExists bool
	text       []byte
	phrasePos  int
	x, y       int
}

func (s *session) noteID() string { return "n" + strconv.Itoa(s.idx) }

// wsURL turns the replica's base URL into the paper's WebSocket URL.
func wsURL(base, paperID string, idx int, batch bool) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("target %q: %w", base, err)
	}
	switch u.Scheme {
	case "https":
		u.Scheme = "wss"
	default:
		u.Scheme = "ws"
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/v1/papers/" + url.PathEscape(paperID) + "/ws"
	n := strconv.Itoa(idx)
	q := url.Values{"user": {"lg-u" + n}, "name": {"lg" + n}}
	if batch {
		q.Set("batch", "1")
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// join dials, reads the first frame (a snapshot), and starts the reader.
// The join time runs from before the dial to the first frame.
func (s *session) join(ctx context.Context) error {
	r := s.r
	u, err := wsURL(s.target, s.paper.id, s.idx, r.cfg.Batch)
	if err != nil {
		return err
	}
	t0 := r.now()
	conn, resp, err := r.dialer.DialContext(ctx, u, nil)
	if err != nil {
		if resp != nil {
			return joinError{code: "join_http_" + strconv.Itoa(resp.StatusCode), err: err}
		}
		return joinError{code: "join_dial", err: err}
	}
	_ = conn.SetReadDeadline(time.Now().Add(r.joinTimeout))
	_, rd, err := conn.NextReader()
	var buf []byte
	if err == nil {
		buf, err = readFrame(rd, make([]byte, 0, 1024))
	}
	if err != nil {
		conn.Close()
		return joinError{code: "join_first_frame", err: err}
	}
	if string(frameType(buf)) != "snapshot" {
		conn.Close()
		return joinError{code: "join_not_snapshot", err: fmt.Errorf("first frame %.80q", buf)}
	}
	seq, ok := uintAfter(buf, keySeq)
	if !ok {
		conn.Close()
		return joinError{code: "join_bad_snapshot", err: fmt.Errorf("snapshot without seq: %.80q", buf)}
	}
	_ = conn.SetReadDeadline(time.Time{})
	s.joinNs = r.now() - t0
	s.conn = conn
	s.lastSeq = seq
	s.paper.alive.Add(1)
	r.readers.Add(1)
	go s.read(buf[:0])
	return nil
}

type joinError struct {
	code string
	err  error
}

func (e joinError) Error() string { return e.code + ": " + e.err.Error() }
func (e joinError) Unwrap() error { return e.err }

// readFrame appends one message to buf, reusing its storage.
func readFrame(rd io.Reader, buf []byte) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := rd.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// read is the session's only reader: it runs until the connection ends.
func (s *session) read(buf []byte) {
	defer s.r.readers.Done()
	for {
		_, rd, err := s.conn.NextReader()
		if err == nil {
			buf, err = readFrame(rd, buf[:0])
		}
		if err != nil {
			s.died(err, "read")
			return
		}
		// A batch frame holds several events, newline-separated; a
		// frame of one event holds no newline.
		now := s.r.now()
		for rest := buf; ; {
			i := bytes.IndexByte(rest, '\n')
			if i < 0 {
				s.handle(rest, now)
				break
			}
			s.handle(rest[:i], now)
			rest = rest[i+1:]
		}
	}
}

// died takes the session out of its paper's count once, and records why
// unless loadgen itself is closing the sessions.
func (s *session) died(err error, where string) {
	if s.dead.Swap(true) {
		return
	}
	s.paper.alive.Add(-1)
	if s.r.closing.Load() {
		return
	}
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		s.r.addErr("close_" + strconv.Itoa(ce.Code))
		return
	}
	s.r.addErr(where + "_" + errKind(err))
}

// errKind names a connection error for the error table.
func errKind(err error) string {
	switch {
	case errors.Is(err, syscall.ECONNRESET):
		return "econnreset"
	case errors.Is(err, syscall.EPIPE):
		return "epipe"
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "eof"
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "timeout"
	case errors.Is(err, net.ErrClosed):
		return "closed"
	}
	return "error"
}

// handle accounts for one server frame received at now.
func (s *session) handle(b []byte, now int64) {
	r := s.r
	mStart, mEnd := r.mStart.Load(), r.mEnd.Load()
	inWin := now >= mStart && now < mEnd
	switch string(frameType(b)) {
	case "op":
		seq, ok := uintAfter(b, keySeq)
		if !ok {
			r.addErr("bad_op_frame")
			return
		}
		if seq <= s.lastSeq {
			s.st.duplicates.Add(1)
			return
		}
		if seq > s.lastSeq+1 {
			s.st.outOfOrder.Add(1)
			s.st.gapMissing.Add(int64(seq - s.lastSeq - 1))
		}
		s.lastSeq = seq
		s.st.received.Add(1)
		if inWin {
			s.st.deliveredWin.Add(1)
		}
		t, ok := uintAfter(b, keyT)
		if !ok { // a delete carries no fields
			return
		}
		src, _ := uintAfter(b, keySrc)
		own := int(src) == s.idx
		if own {
			s.st.ownEchoes.Add(1)
		}
		if n, ok := uintAfter(b, keyN); ok {
			s.senderOrder(int(src), n)
			if own {
				s.answered(n, answerEcho)
			}
		}
		if int64(t) < mStart || int64(t) >= mEnd {
			return
		}
		if own {
			r.own.record(s.idx, now-int64(t))
		} else {
			r.lat.record(s.idx, now-int64(t))
		}
	case "presence":
		s.st.presence.Add(1)
		if inWin {
			s.st.presenceWin.Add(1)
		}
	case "ack":
		s.st.acked.Add(1)
		if inWin {
			s.st.ackedWin.Add(1)
		}
		s.st.expected.Add(s.paper.alive.Load())
		if ref, ok := stringAfter(b, keyRef); ok {
			if t, _, ok := parseRef(ref); ok && int64(t) >= mStart && int64(t) < mEnd {
				r.ack.record(s.idx, now-int64(t))
			}
		}
	case "error":
		code, ok := stringAfter(b, keyCode)
		if !ok {
			code = []byte("error_without_code")
		}
		r.addErr(string(code))
		if ref, ok := stringAfter(b, keyRef); ok {
			s.st.opErrors.Add(1)
			if _, n, ok := parseRef(ref); ok {
				s.answered(n, answerError)
			}
		}
	default:
		r.addErr(fmt.Sprintf("unexpected_frame_%.20s", frameType(b)))
	}
}

// senderOrder checks that sender src's ops reach this receiver in the
// order src sent them: the server's seqs alone cannot show that (an op
// stored late, after the sender's next one, still gets a seq in order).
func (s *session) senderOrder(src int, n uint64) {
	k := src / max(1, s.r.cfg.Papers)
	if k >= len(s.lastN) {
		s.lastN = append(s.lastN, make([]uint64, k+1-len(s.lastN))...)
	}
	if n < s.lastN[k] {
		s.st.senderOutOfOrder.Add(1)
		return
	}
	s.lastN[k] = n
}

// What answered one of the session's own ops.
const (
	answerError uint8 = 1 << iota // an error frame with the op's ref
	answerEcho                    // the op frame itself
)

// answered records an answer to own op n and counts an op that was both
// refused with an error and delivered: an error that did not mean "not
// stored".
func (s *session) answered(n uint64, what uint8) {
	if n >= uint64(len(s.answers)) {
		s.answers = append(s.answers, make([]uint8, n+1-uint64(len(s.answers)))...)
	}
	before := s.answers[n]
	s.answers[n] |= what
	if before != s.answers[n] && s.answers[n] == answerError|answerEcho {
		s.st.erroredDelivered.Add(1)
	}
}

// closeConn ends the session from loadgen's side.
func (s *session) closeConn() {
	if s.conn == nil {
		return
	}
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "load test over")
	_ = s.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
	s.conn.Close()
}
