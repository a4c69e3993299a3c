// Package ws is the WebSocket delivery of protocol v1 on melody: it upgrades
// `GET /v1/papers/{id}/ws`, joins the session to the hub, decodes client
// frames and writes acks, errors and the hub's events.
package ws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
	"github.com/labstack/echo/v4"
	"github.com/olahol/melody"

	"github.com/papercast/papercast/delivery/rest"
	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/protocol"
	"github.com/papercast/papercast/usecase"
)

// Hub is what the delivery needs from the live-session service. It is
// generic in the member type its Join returns, so *usecase.Hub (whose Join
// returns *usecase.Member) and a test's fake both satisfy it as they are.
type Hub[M Member] interface {
	Admit(ctx context.Context, req usecase.JoinRequest) (usecase.JoinRequest, error)
	Join(ctx context.Context, req usecase.JoinRequest, sink usecase.Sink) (M, error)
}

// Member is what the delivery needs from one joined session.
type Member interface {
	Author() domain.Author
	Edit(ctx context.Context, op domain.Op) (uint64, error)
	SetPresence(ctx context.Context, state json.RawMessage) error
	// Claim makes the session an owner session (domain.ErrForbidden: wrong
	// key); Ban removes a user from the paper (owner sessions only).
	Claim(ctx context.Context, ownerKey string) error
	Ban(ctx context.Context, user string) error
	Leave()
}

// anyHub is Hub with its member type erased, as the handler keeps it.
type anyHub interface {
	Admit(ctx context.Context, req usecase.JoinRequest) (usecase.JoinRequest, error)
	Join(ctx context.Context, req usecase.JoinRequest, sink usecase.Sink) (Member, error)
}

type erasedHub[M Member] struct{ Hub[M] }

func (h erasedHub[M]) Join(ctx context.Context, req usecase.JoinRequest, sink usecase.Sink) (Member, error) {
	m, err := h.Hub.Join(ctx, req, sink)
	if err != nil {
		return nil, err // not m: a nil *T in an interface is not nil
	}
	return m, nil
}

// Identity is who opens a session.
type Identity struct {
	User string
	Name string
	// Token, when set, is a credential for User on this paper that the
	// session's first frame hands to the client (you.token), to present as
	// `?token=` on its next connection (guest mode).
	Token string
}

// Options configure the WebSocket delivery. Zero values take DefaultOptions.
type Options struct {
	// MaxFrameBytes is the read limit; a bigger frame closes with 1009.
	MaxFrameBytes int64
	// SendBuffer is how many frames, and SendBufferBytes how many bytes of
	// them, may wait for a slow client before it is closed with 4008.
	SendBuffer      int
	SendBufferBytes int
	// WriteWait bounds one frame write; PongWait is how long a silent client
	// is kept; pings go out every PongWait*9/10.
	WriteWait time.Duration
	PongWait  time.Duration
	// Rate limits per session; exceeding gives rate_limited errors and
	// AbuseStrikes rejected frames in a row close the session with 1008.
	OpsPerSecond      float64
	OpsBurst          int
	PresencePerSecond float64
	AbuseStrikes      int
	// CheckOrigin decides which browser origins may connect. nil: the
	// server's one origin rule (rest.OriginAllowed) with no extra origins,
	// that is the request's own host only.
	CheckOrigin func(r *http.Request) bool
	// Identify returns who the request is (nil: the user and name query
	// params taken as they are, as protocol v1 did; the server wires its
	// guest tokens or JWTs here). An error wrapping domain.ErrUnauthorized
	// or ErrForbidden refuses the upgrade.
	Identify func(r *http.Request, paperID string) (Identity, error)
}

// DefaultOptions are the delivery's settings when none are given (no
// CheckOrigin or Identify: New fills those in); config.yaml gives the reason
// for each.
func DefaultOptions() Options {
	return Options{
		MaxFrameBytes:     32 << 10,
		SendBuffer:        128,
		SendBufferBytes:   512 << 10,
		WriteWait:         10 * time.Second,
		PongWait:          60 * time.Second,
		OpsPerSecond:      30,
		OpsBurst:          60,
		PresencePerSecond: 20,
		AbuseStrikes:      100,
	}
}

// defaults replaces every unset (zero or negative) option by its default.
func (o *Options) defaults() {
	d := DefaultOptions()
	if o.MaxFrameBytes <= 0 {
		o.MaxFrameBytes = d.MaxFrameBytes
	}
	if o.SendBuffer <= 0 {
		o.SendBuffer = d.SendBuffer
	}
	if o.SendBufferBytes <= 0 {
		o.SendBufferBytes = d.SendBufferBytes
	}
	if o.WriteWait <= 0 {
		o.WriteWait = d.WriteWait
	}
	if o.PongWait <= 0 {
		o.PongWait = d.PongWait
	}
	if o.OpsPerSecond <= 0 {
		o.OpsPerSecond = d.OpsPerSecond
	}
	if o.OpsBurst <= 0 {
		o.OpsBurst = d.OpsBurst
	}
	if o.PresencePerSecond <= 0 {
		o.PresencePerSecond = d.PresencePerSecond
	}
	if o.AbuseStrikes <= 0 {
		o.AbuseStrikes = d.AbuseStrikes
	}
	if o.CheckOrigin == nil {
		o.CheckOrigin = func(r *http.Request) bool {
			return rest.OriginAllowed(r.Header.Get("Origin"), r.Host, nil, false)
		}
	}
	if o.Identify == nil {
		o.Identify = QueryIdentity
	}
}

// Metrics receives the delivery's counts (nil: discarded).
//
// Frame counts one client frame under its kind (protocol.FrameKinds) and its
// result: "ok", the error code it was answered with, or "abuse" when it
// closed the session.
type Metrics interface {
	Frame(kind, result string)
	SendBufferOverflow()
	SlowConsumerClosed()
	Sessions(delta int)
}

// Results of Frame besides the error codes.
const (
	metricsOK    = "ok"
	metricsAbuse = "abuse"
)

type nopMetrics struct{}

func (nopMetrics) Frame(string, string) {}
func (nopMetrics) SendBufferOverflow()  {}
func (nopMetrics) SlowConsumerClosed()  {}
func (nopMetrics) Sessions(int)         {}

// Handler serves protocol v1 WebSocket sessions.
type Handler struct {
	hub     anyHub
	opts    Options
	log     *slog.Logger
	metrics Metrics
	m       *melody.Melody

	wg sync.WaitGroup // sessions and slow-consumer closers

	// frameHook, when set (tests only, see export_test.go), runs before each
	// client frame is handled.
	frameHook func(data []byte)
	// connWrap, when set (tests only), wraps each session's raw connection
	// under its cork, to count the writes that reach the socket.
	connWrap func(net.Conn) net.Conn
	// decode decodes client frames: protocol.DecodeClient, or a test's
	// decoder that accepts a type the session does not handle.
	decode func(data []byte) (protocol.ClientFrame, error)
}

// New builds the handler; Register mounts it on an echo instance.
func New[M Member](hub Hub[M], opts Options, metrics Metrics, log *slog.Logger) *Handler {
	opts.defaults()
	if metrics == nil {
		metrics = nopMetrics{}
	}
	h := &Handler{hub: erasedHub[M]{hub}, opts: opts, log: log, metrics: metrics, m: melody.New(), decode: protocol.DecodeClient}
	h.m.Config.MaxMessageSize = opts.MaxFrameBytes
	// Frames wait in the session's outbox (outbox.go), which keeps at most
	// one in melody's queue: a few slots are enough.
	h.m.Config.MessageBufferSize = melodyQueue
	h.m.Config.WriteWait = opts.WriteWait
	h.m.Config.PongWait = opts.PongWait
	h.m.Config.PingPeriod = opts.PongWait * 9 / 10
	// The origin is checked before the upgrade so a refusal is a JSON error.
	h.m.Upgrader.CheckOrigin = func(*http.Request) bool { return true }
	// The read buffer is held for the whole session: most client frames
	// (presence, small ops) fit 512 bytes, bigger ones take a few reads.
	h.m.Upgrader.ReadBufferSize = 512
	// Idle sessions hold no write buffer: it is taken from the pool per
	// message, so it can be big enough for most frames to leave in one
	// piece.
	h.m.Upgrader.WriteBufferSize = 4096
	h.m.Upgrader.WriteBufferPool = &sync.Pool{}
	h.m.HandleSentMessage(h.onSent)
	h.m.HandleConnect(h.onConnect)
	h.m.HandleMessage(h.onMessage)
	h.m.HandleMessageBinary(h.onBinary)
	h.m.HandleDisconnect(h.onDisconnect)
	h.m.HandleError(h.onError)
	return h
}

// Register adds `GET /v1/papers/:id/ws`.
func (h *Handler) Register(e *echo.Echo) {
	e.GET("/v1/papers/:id/ws", h.serve)
}

// Sessions is the number of connected WebSocket sessions.
func (h *Handler) Sessions() int { return h.m.Len() }

// serve checks everything that can be refused with a plain HTTP error, then
// upgrades; it returns when the session ends.
func (h *Handler) serve(c echo.Context) error {
	r := c.Request()
	id := c.Param("id")
	if origin := r.Header.Get("Origin"); origin != "" && !h.opts.CheckOrigin(r) {
		return fmt.Errorf("%w: origin %q may not open sessions", domain.ErrForbidden, origin)
	}
	who, err := h.opts.Identify(r, id)
	if err != nil {
		return err
	}
	req := usecase.JoinRequest{PaperID: id, User: who.User, Name: who.Name, Token: who.Token}
	q := r.URL.Query()
	if since, epoch := q.Get("since"), q.Get("epoch"); since != "" || epoch != "" {
		n, err := strconv.ParseUint(since, 10, 64)
		if err != nil || epoch == "" || len(epoch) > 64 {
			return fmt.Errorf("%w: since must be a seq and epoch the paper's epoch, given together", domain.ErrInvalid)
		}
		req.Resume, req.Since, req.Epoch = true, n, epoch
	}
	if req, err = h.hub.Admit(r.Context(), req); err != nil {
		return err
	}
	if !websocket.IsWebSocketUpgrade(r) {
		return fmt.Errorf("%w: this endpoint speaks WebSocket only", domain.ErrInvalid)
	}
	// The session runs in its own goroutine and this handler returns once
	// the connection is upgraded: net/http then drops its per-connection
	// state (two 4 KiB bufio buffers and a deep stack) that it would keep
	// for the whole session if the handler blocked in melody's read loop.
	var batch bool
	switch q.Get("batch") {
	case "", "0":
	case "1":
		batch = true
	default:
		return fmt.Errorf("%w: batch must be 1 or 0", domain.ErrInvalid)
	}
	s := &session{h: h, req: req, batch: batch, upgraded: make(chan struct{})}
	// echo recycles c once this handler returns; the wrapper hands melody
	// the corked connection (conn.go).
	w := &hijackWriter{ResponseWriter: c.Response(), sess: s, wrap: h.connWrap}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		err := h.m.HandleRequestWithKeys(w, r, map[string]any{sessionKey: s})
		// Only when the session never connected: onConnect marked it
		// upgraded otherwise, and the handler has returned.
		s.upgradedOnce.Do(func() {
			s.upgradeErr = err
			close(s.upgraded)
		})
	}()
	<-s.upgraded
	// upgradeErr is written before upgraded is closed, or never.
	if err := s.upgradeErr; err != nil {
		if errors.Is(err, melody.ErrClosed) {
			return fmt.Errorf("%w: server is shutting down", domain.ErrUnavailable)
		}
		// The upgrader has already answered the client.
		h.log.Debug("upgrade failed", "paper", id, "err", err)
	}
	return nil
}

// Shutdown closes every session with 1001 and waits for them to end.
func (h *Handler) Shutdown(ctx context.Context) error {
	sessions := h.m.Len()
	d := disconnectFor(domain.CloseGoingAway)
	err := h.m.CloseWithMsg(melody.FormatCloseMessage(d.Code, d.Reason))
	if err != nil && !errors.Is(err, melody.ErrClosed) {
		return fmt.Errorf("close sessions: %w", err)
	}
	done := make(chan struct{})
	go func() {
		h.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("%d sessions were closing: %w", sessions, ctx.Err())
	}
	return nil
}

// Identity limits: long enough for any real id or display name.
const (
	maxUserLen = 128
	maxNameLen = 100
)

// QueryIdentity takes who from the `user` and `name` query params, as they
// are (protocol v1); without `user` the session gets an anonymous id.
func QueryIdentity(r *http.Request, _ string) (Identity, error) {
	q := r.URL.Query()
	who := Identity{User: q.Get("user"), Name: q.Get("name")}
	if err := ValidIdentity(who); err != nil {
		return Identity{}, err
	}
	if who.User == "" {
		who.User = "anon-" + usecase.NewSessionID()[:10]
	}
	return who, nil
}

// ValidIdentity checks the user and name a session gives itself.
func ValidIdentity(who Identity) error {
	if !utf8.ValidString(who.User) || len(who.User) > maxUserLen {
		return fmt.Errorf("%w: user must be at most %d bytes of UTF-8", domain.ErrInvalid, maxUserLen)
	}
	if !utf8.ValidString(who.Name) || utf8.RuneCountInString(who.Name) > maxNameLen {
		return fmt.Errorf("%w: name must be at most %d characters", domain.ErrInvalid, maxNameLen)
	}
	return nil
}
