package ws

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/olahol/melody"
	"golang.org/x/time/rate"

	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/protocol"
	"github.com/papercast/papercast/usecase"
)

const sessionKey = "papercast.session"

// session is one WebSocket connection. Its fields are used only by the
// connection's read goroutine (melody runs connect, message and disconnect
// handlers there), except the Sink methods, which only touch melody's
// goroutine-safe Write/Close and the once-guarded slow close.
type session struct {
	h      *Handler
	s      *melody.Session
	req    usecase.JoinRequest
	member Member
	// ctx is the parent of every store call made for this session. It is
	// not cancelable: all calls run on the session's read goroutine, which
	// has returned from the last one before the session ends; and a
	// cancelable context would keep a children map alive per session.
	ctx context.Context

	// Rate limiters are made on a session's first op or presence: most
	// sessions only watch.
	ops      *rate.Limiter
	presence *rate.Limiter
	strikes  int

	out   outbox
	cork  *corkConn // set when melody hijacks the connection
	batch bool      // ?batch=1: waiting events leave newline-separated in one frame

	slow atomic.Bool // closing as a slow consumer

	upgraded     chan struct{} // closed once the HTTP handler may return
	upgradedOnce sync.Once
	upgradeErr   error // why melody returned without connecting; set in upgradedOnce
}

func (sess *session) markUpgraded() { sess.upgradedOnce.Do(func() { close(sess.upgraded) }) }

func sessionOf(s *melody.Session) *session {
	v, _ := s.Get(sessionKey)
	sess, _ := v.(*session)
	return sess
}

// onConnect joins the hub. It runs before melody starts the write pump, so
// Start may write the first frames straight to the connection.
//
// The join (store reads, encoding and writing the first frames) runs on a
// goroutine of its own that ends with it: this goroutine becomes the
// session's read pump, and would otherwise keep the stack the join grew
// for as long as the session sits idle.
func (h *Handler) onConnect(s *melody.Session) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.connect(s)
	}()
	<-done
}

func (h *Handler) connect(s *melody.Session) {
	sess := sessionOf(s)
	if sess == nil {
		return
	}
	// melody has hijacked the connection: the HTTP handler is done with it.
	sess.markUpgraded()
	h.metrics.Sessions(1)
	sess.s = s
	sess.ctx = context.Background()
	// melody keeps the upgrade request for the whole session; nothing here
	// reads it again, so let its headers and context go.
	s.Request = nil
	defer sess.recoverPanic("connect")
	m, err := h.hub.Join(sess.ctx, sess.req, sess)
	if err != nil {
		r := classify(err)
		h.log.Info("join refused", "paper", sess.req.PaperID, "code", r.code, "err", err)
		sess.send(protocol.ErrorFrame("", r.code, r.message))
		sess.closeWith(r.close)
		return
	}
	sess.member = m
	h.log.Debug("session joined", "paper", sess.req.PaperID, "session", m.Author().Session, "resume", sess.req.Resume)
}

func (h *Handler) onDisconnect(s *melody.Session) {
	sess := sessionOf(s)
	if sess == nil || sess.s == nil {
		return
	}
	defer h.metrics.Sessions(-1)
	if sess.member != nil {
		sess.member.Leave()
	}
}

// onError sees melody's errors. A full send buffer means the client is not
// reading: close it (4008) so it resumes instead of silently missing frames.
// It may run under the room lock (inside Send), so it must not block.
func (h *Handler) onError(s *melody.Session, err error) {
	sess := sessionOf(s)
	if sess == nil {
		return
	}
	if errors.Is(err, melody.ErrMessageBufferFull) {
		h.metrics.SendBufferOverflow()
		sess.closeSlow()
	}
}

// onBinary refuses binary frames (protocol v1 is JSON text) at the same
// cost as garbage text.
func (h *Handler) onBinary(s *melody.Session, _ []byte) {
	sess := sessionOf(s)
	if sess == nil || sess.member == nil {
		return
	}
	defer sess.recoverPanic("binary")
	sess.refuse(protocol.FrameBinary, "", fmt.Errorf("%w: binary frames are not supported: send JSON text frames", domain.ErrUnsupported))
}

func (h *Handler) onMessage(s *melody.Session, data []byte) {
	sess := sessionOf(s)
	if sess == nil || sess.member == nil {
		return
	}
	defer sess.recoverPanic("message")
	if h.frameHook != nil {
		h.frameHook(data)
	}
	sess.handle(data)
}

// handle runs one client frame to completion: the session's ops are applied
// in the order it sends them, and nothing waits on any other session.
func (sess *session) handle(data []byte) {
	f, err := sess.h.decode(data)
	if err != nil {
		ref := ""
		var de *protocol.DecodeError
		if errors.As(err, &de) {
			ref = de.Ref
		}
		sess.refuse(protocol.FrameUndecodable, ref, err)
		return
	}
	switch f.Type {
	case protocol.TypeUpsert, protocol.TypeDelete:
		if !sess.allowOp() {
			sess.rateLimited(f.Type, f.Ref)
			return
		}
		seq, err := sess.member.Edit(sess.ctx, f.Op())
		if err != nil {
			sess.fail(f.Type, f.Ref, err)
			return
		}
		sess.strikes = 0
		sess.h.metrics.Frame(f.Type, metricsOK)
		sess.send(protocol.AckFrame(f.Ref, seq))
	case protocol.TypePresence:
		if !sess.allowPresence() {
			sess.rateLimited(f.Type, f.Ref)
			return
		}
		if err := sess.member.SetPresence(sess.ctx, f.State); err != nil {
			sess.fail(f.Type, f.Ref, err)
			return
		}
		sess.strikes = 0
		sess.h.metrics.Frame(f.Type, metricsOK)
	case protocol.TypeClaim, protocol.TypeBan:
		if !sess.allowOp() {
			sess.rateLimited(f.Type, f.Ref)
			return
		}
		var err error
		if f.Type == protocol.TypeClaim {
			err = sess.member.Claim(sess.ctx, f.OwnerKey)
		} else {
			err = sess.member.Ban(sess.ctx, f.User)
		}
		switch {
		case f.Type == protocol.TypeClaim && errors.Is(err, domain.ErrForbidden):
			// A wrong owner key is a strike, as a rate-limited frame is:
			// guessing keys ends like any other flood (close 1008).
			sess.strike(f.Type, f.Ref, err)
			return
		case err != nil:
			sess.fail(f.Type, f.Ref, err)
			return
		}
		sess.strikes = 0
		sess.h.metrics.Frame(f.Type, metricsOK)
		sess.send(protocol.AckFrame(f.Ref, 0)) // takes no seq
	default:
		// A type the decoder accepts but this switch does not list: a new
		// kind half added. Answer it rather than leave the client waiting.
		sess.refuse(f.Type, f.Ref, fmt.Errorf("%w: type %q is not served here", domain.ErrUnsupported, f.Type))
	}
}

func (sess *session) allowOp() bool {
	if sess.ops == nil {
		sess.ops = rate.NewLimiter(rate.Limit(sess.h.opts.OpsPerSecond), sess.h.opts.OpsBurst)
	}
	return sess.ops.Allow()
}

func (sess *session) allowPresence() bool {
	if sess.presence == nil {
		ps := sess.h.opts.PresencePerSecond
		sess.presence = rate.NewLimiter(rate.Limit(ps), max(1, int(ps)))
	}
	return sess.presence.Allow()
}

// refuse answers a frame that is refused for what it is (garbage, binary,
// a type not served). It costs the sender from the same bucket as ops, so a
// flood of it ends like any other flood: rate_limited, then close 1008.
func (sess *session) refuse(kind, ref string, err error) {
	if !sess.allowOp() {
		sess.rateLimited(kind, ref)
		return
	}
	sess.fail(kind, ref, err)
}

func (sess *session) fail(kind, ref string, err error) {
	r := classify(err)
	sess.h.metrics.Frame(kind, r.code)
	if r.code == protocol.CodeUnavailable {
		sess.h.log.Warn("edit failed", "paper", sess.req.PaperID, "session", sess.member.Author().Session, "err", err)
	}
	sess.send(protocol.ErrorFrame(ref, r.code, r.message))
}

func (sess *session) rateLimited(kind, ref string) {
	sess.strike(kind, ref, fmt.Errorf("%w: slow down", domain.ErrRateLimited))
}

// strike answers a frame refused for abuse (rate limited, a wrong owner
// key) with err; AbuseStrikes of them in a row close the session (1008).
func (sess *session) strike(kind, ref string, err error) {
	sess.strikes++
	if sess.strikes >= sess.h.opts.AbuseStrikes {
		sess.h.metrics.Frame(kind, metricsAbuse)
		sess.h.log.Warn("closing abusive session", "paper", sess.req.PaperID, "session", sess.member.Author().Session, "strikes", sess.strikes)
		sess.closeWith(protocol.DisconnectPolicy)
		return
	}
	sess.fail(kind, ref, err)
}

// recoverPanic keeps a bug in one session from taking the server down: it is
// logged with its stack and that session is closed with 1011.
func (sess *session) recoverPanic(where string) {
	if v := recover(); v != nil {
		sess.h.log.Error("panic in session", "where", where, "paper", sess.req.PaperID, "panic", v, "stack", string(debug.Stack()))
		sess.closeWith(protocol.DisconnectInternal)
	}
}

func (sess *session) closeWith(d protocol.Disconnect) {
	_ = sess.s.CloseWithMsg(melody.FormatCloseMessage(d.Code, d.Reason))
}

// Start implements usecase.Sink: the write pump has not started yet (see
// onConnect), so this goroutine is the connection's only writer.
func (sess *session) Start(frames [][]byte) error {
	c := sess.s.WebsocketConnection()
	for _, f := range frames {
		_ = c.SetWriteDeadline(time.Now().Add(sess.h.opts.WriteWait))
		if err := c.WriteMessage(websocket.TextMessage, f); err != nil {
			return fmt.Errorf("write first frames: %w", err)
		}
	}
	return nil
}

// Send implements usecase.Sink.
func (sess *session) Send(frame []byte) { sess.send(frame) }

// Close implements usecase.Sink.
func (sess *session) Close(reason domain.CloseReason) { sess.closeWith(disconnectFor(reason)) }

// closeSlow closes a client that stopped reading (its outbox is over its
// bounds, or melody's queue is full). The close frame (4008) is queued behind
// the one frame melody may be writing; if that write is stuck on a client
// that reads nothing, a one-second deadline ends it and the connection
// drops instead. It never blocks: the caller may hold the room lock.
func (sess *session) closeSlow() {
	// Not a sync.Once: CloseWithMsg on a full queue calls onError, which
	// comes back here.
	if !sess.slow.CompareAndSwap(false, true) {
		return
	}
	sess.h.metrics.SlowConsumerClosed()
	sess.h.log.Info("closing slow consumer", "paper", sess.req.PaperID)
	if sess.cork != nil {
		_ = sess.cork.SetWriteDeadline(time.Now().Add(time.Second))
	}
	d := protocol.DisconnectTooSlow
	_ = sess.s.CloseWithMsg(melody.FormatCloseMessage(d.Code, d.Reason))
}
