package redis

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/rueidis"

	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/paper"
	"github.com/papercast/papercast/usecase"
)

// The bus. Each subscribed paper has one Redis subscription on the pub/sub
// client (whose connection, one per Redis node, carries nothing else) and
// one receive loop goroutine; each Subscribe call adds a listener with its
// own queue, drained by a dispatcher goroutine that runs only while the
// queue holds something (an idle paper costs no dispatcher: most papers are
// idle most of the time, and a parked goroutine keeps a 4 KiB stack):
//
//   - the receive loop runs rueidis Receive (SUBSCRIBE, or SSUBSCRIBE in
//     cluster mode). When Receive returns because the connection broke or
//     the server dropped the subscription (slot migration), the loop marks
//     the subscription down and subscribes again, with backoff, until it is
//     closed. The subscription hook marks it up on every confirmation and,
//     on each one after the first, queues a Resync for every listener;
//   - messages go into every listener's queue, so the connection's reader
//     never waits on a handler; the first item into an empty queue starts
//     the listener's dispatcher, which calls the handler one call at a time,
//     in publish order, and ends once the queue is empty (or the listener
//     stopped). At most one dispatcher per listener runs at a time.
//
// A handler that falls maxPending events behind has its backlog dropped and
// gets a Resync instead: memory stays bounded, and Resync is the handler's
// catch-up path anyway.
//
// Subscribing a paper twice is safe (two listeners, one Redis subscription);
// the Redis subscription ends with the last listener.

const (
	maxPending = 4096
	minBackoff = 50 * time.Millisecond
	maxBackoff = 2 * time.Second
)

type busItem struct {
	frame  []byte
	resync bool
}

// subscription is one paper's Redis subscription.
type subscription struct {
	s       *Store
	paperID string
	channel string

	ctx    context.Context // canceled by close
	cancel context.CancelFunc

	done      chan struct{} // the receive loop has exited
	unsubbed  chan struct{} // the UNSUBSCRIBE sent by the receive-return hook was answered
	removed   chan struct{} // gone from Store.subs: the paper may be subscribed afresh
	unsubOnce sync.Once

	mu        sync.Mutex
	listeners []*listener
	up        bool          // confirmed on the current connection
	confirmed bool          // confirmed at least once
	ups       int           // confirmations so far
	fails     int           // Receive calls that ended (other than by close)
	lastErr   error         // why the last one ended
	changed   chan struct{} // closed and replaced on every change of the above
	closing   bool          // the last listener left; no new ones
}

// listener is one Subscribe call: a handler and its queue.
type listener struct {
	sub *subscription
	h   usecase.BusHandler

	mu      sync.Mutex
	queue   []busItem
	stopped bool
	running bool          // a dispatcher is draining the queue
	quit    chan struct{} // closed when stopped
	once    sync.Once
}

// Subscribe subscribes h to a paper's channel and returns once Redis has
// confirmed the subscription. h's calls never overlap, come in publish order
// and never block the connection. After the subscription broke and was made
// again (Redis restart, failover, slot migration) h.Resync is called before
// the events that follow. The returned function unsubscribes h (calling it
// again does nothing; it may be called from h); when h was the paper's last
// listener it returns once Redis has confirmed the UNSUBSCRIBE (or the
// connection is gone). h gets no calls after it returns, except one already
// in progress.
func (s *Store) Subscribe(ctx context.Context, paperID string, h usecase.BusHandler) (func(), error) {
	if !paper.ValidID(paperID) {
		return nil, fmt.Errorf("subscribe %q: %w: bad paper id", paperID, domain.ErrInvalid)
	}
	if h == nil {
		return nil, fmt.Errorf("subscribe %s: %w: nil handler", paperID, domain.ErrInvalid)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("subscribe %s: %w: %w", paperID, domain.ErrUnavailable, err)
	}
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	var (
		sub   *subscription
		l     *listener
		fails int
		start bool
	)
	for l == nil {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, fmt.Errorf("subscribe %s: %w: %w", paperID, domain.ErrUnavailable, errClosed)
		}
		sub = s.subs[paperID]
		if sub == nil {
			sub = s.newSubscription(paperID)
			s.subs[paperID] = sub
			start = true
		}
		sub.mu.Lock()
		if !sub.closing {
			l = &listener{sub: sub, h: h, quit: make(chan struct{})}
			sub.listeners = append(sub.listeners, l)
			fails = sub.fails
		}
		sub.mu.Unlock()
		s.mu.Unlock()
		if l == nil {
			// The paper's last listener just left: wait until its
			// UNSUBSCRIBE is through, or it would cancel the new SUBSCRIBE.
			select {
			case <-sub.removed:
			case <-ctx.Done():
				return nil, fmt.Errorf("subscribe %s: %w: %w", paperID, domain.ErrUnavailable, ctx.Err())
			}
		}
	}
	if start {
		go sub.run()
	}
	for {
		sub.mu.Lock()
		up, failed, err, changed := sub.up, sub.fails > fails, sub.lastErr, sub.changed
		closed := sub.closing && s.closing.Load()
		sub.mu.Unlock()
		switch {
		case closed:
			return nil, fmt.Errorf("subscribe %s: %w: %w", paperID, domain.ErrUnavailable, errClosed)
		case up:
			return l.unsubscribe, nil
		case failed:
			l.unsubscribe()
			return nil, mapErr("subscribe", paperID, err)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			l.unsubscribe()
			return nil, fmt.Errorf("subscribe %s: %w: %w", paperID, domain.ErrUnavailable, ctx.Err())
		}
	}
}

// Ready reports whether the bus can receive: the pub/sub connection answers
// and no subscription is down waiting to be restored.
func (s *Store) Ready(ctx context.Context) error {
	s.mu.Lock()
	closed, down, total := s.closed, 0, len(s.subs)
	for _, sub := range s.subs {
		sub.mu.Lock()
		if sub.confirmed && !sub.up && !sub.closing {
			down++
		}
		sub.mu.Unlock()
	}
	s.mu.Unlock()
	if closed {
		return fmt.Errorf("bus: %w: %w", domain.ErrUnavailable, errClosed)
	}
	if down > 0 {
		return fmt.Errorf("bus: %w: %d of %d subscriptions are down and resubscribing", domain.ErrUnavailable, down, total)
	}
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	if err := s.sub.Do(ctx, s.sub.B().Ping().Build()).Error(); err != nil {
		return fmt.Errorf("bus: %w: subscriber connection: %w", domain.ErrUnavailable, err)
	}
	return nil
}

// Subscriptions is the number of papers this store holds a Redis
// subscription for.
func (s *Store) Subscriptions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.subs)
}

func (s *Store) newSubscription(paperID string) *subscription {
	ctx, cancel := context.WithCancel(context.Background())
	return &subscription{
		s:        s,
		paperID:  paperID,
		channel:  s.keys(paperID).channel,
		ctx:      ctx,
		cancel:   cancel,
		done:     make(chan struct{}),
		unsubbed: make(chan struct{}),
		removed:  make(chan struct{}),
		changed:  make(chan struct{}),
	}
}

// signalLocked wakes everyone waiting for a state change. sub.mu is held.
func (sub *subscription) signalLocked() {
	close(sub.changed)
	sub.changed = make(chan struct{})
}

func (sub *subscription) subscribeCmd() rueidis.Completed {
	if sub.s.sharded {
		return sub.s.sub.B().Ssubscribe().Channel(sub.channel).Build()
	}
	return sub.s.sub.B().Subscribe().Channel(sub.channel).Build()
}

// run is the receive loop: subscribed until closed, whatever happens to
// the connection.
func (sub *subscription) run() {
	defer close(sub.done)
	ctx := rueidis.WithOnSubscriptionHook(sub.ctx, sub.onSubscription)
	ctx = rueidis.WithOnReceiveReturnHook(ctx, sub.onReturn)
	backoff := minBackoff
	for {
		sub.mu.Lock()
		ups := sub.ups
		sub.mu.Unlock()
		err := sub.s.sub.Receive(ctx, sub.subscribeCmd(), sub.onMessage)
		if sub.ctx.Err() != nil {
			return
		}
		if err == nil {
			err = errors.New("the server ended the subscription")
		}
		sub.mu.Lock()
		wasUp := sub.ups != ups
		sub.up = false
		sub.fails++
		sub.lastErr = err
		sub.signalLocked()
		sub.mu.Unlock()
		if wasUp {
			// It worked since the last attempt: a fresh loss.
			backoff = minBackoff
			sub.s.log.Warn("bus subscription lost; resubscribing", "paper", sub.paperID, "err", err)
		}
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-sub.ctx.Done():
			t.Stop()
			return
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// onSubscription runs on the connection's reader: no blocking.
func (sub *subscription) onSubscription(ps rueidis.PubSubSubscription) {
	if ps.Channel != sub.channel {
		return
	}
	switch ps.Kind {
	case "subscribe", "ssubscribe":
		sub.mu.Lock()
		if sub.up {
			sub.mu.Unlock()
			return
		}
		restored := sub.confirmed
		sub.up, sub.confirmed = true, true
		sub.ups++
		if restored {
			for _, l := range sub.listeners {
				l.enqueue(busItem{resync: true})
			}
		}
		sub.signalLocked()
		sub.mu.Unlock()
		if restored {
			sub.s.log.Info("bus subscription restored; handlers resync", "paper", sub.paperID)
			if obs := sub.s.opts.Observer; obs != nil {
				obs.Resubscribed()
			}
		}
	case "unsubscribe", "sunsubscribe":
		sub.mu.Lock()
		sub.up = false
		sub.signalLocked()
		sub.mu.Unlock()
	}
}

// onMessage runs on the receive loop's goroutine, fed by the reader through
// a small buffer: it only queues. The frame is shared by every listener
// (handlers never modify frames).
func (sub *subscription) onMessage(m rueidis.PubSubMessage) {
	if m.Channel != sub.channel {
		return
	}
	items, ok := splitMessage(m.Message)
	if !ok {
		sub.s.log.Error("bus message unreadable; handlers resync", "paper", sub.paperID, "len", len(m.Message))
		items = append(items, busItem{resync: true})
	}
	sub.mu.Lock()
	for _, l := range sub.listeners {
		for _, it := range items {
			l.enqueue(it)
		}
	}
	sub.mu.Unlock()
}

// splitMessage reads one published message: a single event frame as it is
// (frames are JSON objects, starting with '{'), or several as one
// multi-frame message, "#" then "<len>:<frame>" for each, in seq order
// (apply.lua publishes a batch of ops that way). ok is false when a
// multi-frame message is cut short; the frames before the cut are kept.
func splitMessage(msg string) (items []busItem, ok bool) {
	rest, multi := strings.CutPrefix(msg, "#")
	if !multi {
		return []busItem{{frame: []byte(msg)}}, true
	}
	for rest != "" {
		lenStr, after, found := strings.Cut(rest, ":")
		n, err := strconv.Atoi(lenStr)
		if !found || err != nil || n < 0 || n > len(after) {
			return items, false
		}
		items = append(items, busItem{frame: []byte(after[:n])})
		rest = after[n:]
	}
	return items, true
}

// onReturn runs when a Receive is about to return. When the subscription is
// being closed it sends UNSUBSCRIBE on the very connection that carried the
// SUBSCRIBE, queued behind it, so Redis ends up unsubscribed whatever point
// the SUBSCRIBE had reached. The reply is awaited in another goroutine:
// until this hook returns nobody drains the subscription's message buffer,
// and a full buffer would stall the connection's reader, reply included.
func (sub *subscription) onReturn(err error, c rueidis.CommandClient) error {
	if sub.ctx.Err() == nil || sub.s.closing.Load() {
		return err
	}
	sub.unsubOnce.Do(func() {
		var cmd rueidis.Completed
		if sub.s.sharded {
			cmd = c.B().Sunsubscribe().Channel(sub.channel).Build()
		} else {
			cmd = c.B().Unsubscribe().Channel(sub.channel).Build()
		}
		go func() {
			defer close(sub.unsubbed)
			ctx, cancel := context.WithTimeout(context.Background(), sub.s.opts.CommandTimeout)
			defer cancel()
			if uerr := c.Do(ctx, cmd).Error(); uerr != nil {
				sub.s.log.Debug("bus unsubscribe", "paper", sub.paperID, "err", uerr)
			}
		}()
	})
	return err
}

// close ends the Redis subscription; the caller set sub.closing.
func (sub *subscription) close() {
	sub.cancel()
	<-sub.done
	// If a Receive was running, its return hook sent UNSUBSCRIBE: wait for
	// the answer, so PUBSUB CHANNELS no longer lists the channel.
	sub.unsubOnce.Do(func() { close(sub.unsubbed) })
	<-sub.unsubbed
	sub.s.mu.Lock()
	if sub.s.subs[sub.paperID] == sub {
		delete(sub.s.subs, sub.paperID)
	}
	sub.s.mu.Unlock()
	close(sub.removed)
}

// unsubscribe removes the listener; the last one out closes the Redis
// subscription.
func (l *listener) unsubscribe() {
	l.once.Do(func() {
		l.stop()
		sub, s := l.sub, l.sub.s
		s.mu.Lock()
		sub.mu.Lock()
		sub.listeners = slices.DeleteFunc(sub.listeners, func(x *listener) bool { return x == l })
		last := len(sub.listeners) == 0 && !sub.closing
		if last {
			sub.closing = true
		}
		sub.mu.Unlock()
		s.mu.Unlock()
		if last {
			sub.close()
		}
	})
}

func (l *listener) stop() {
	l.mu.Lock()
	if !l.stopped {
		l.stopped = true
		l.queue = nil
		close(l.quit)
	}
	l.mu.Unlock()
}

func (l *listener) enqueue(it busItem) {
	l.mu.Lock()
	if l.stopped {
		l.mu.Unlock()
		return
	}
	overflow := len(l.queue) >= maxPending
	if overflow {
		clear(l.queue)
		l.queue = append(l.queue[:0], busItem{resync: true})
		if !it.resync {
			l.queue = append(l.queue, it)
		}
	} else {
		l.queue = append(l.queue, it)
	}
	start := !l.running
	l.running = true
	l.mu.Unlock()
	if overflow {
		l.sub.s.log.Warn("bus handler fell behind; dropped its backlog for a resync", "paper", l.sub.paperID, "pending", maxPending)
	}
	if start {
		go l.dispatch()
	}
}

// dispatch calls the handler, one item at a time, until the queue is empty
// or the listener stopped; enqueue starts it (one at a time per listener).
func (l *listener) dispatch() {
	var batch []busItem
	for {
		l.mu.Lock()
		if l.stopped || len(l.queue) == 0 {
			l.running = false
			if len(l.queue) == 0 && cap(l.queue) > 64 {
				l.queue = nil // a burst's backing array need not outlive it
			}
			l.mu.Unlock()
			return
		}
		batch, l.queue = l.queue, batch[:0]
		l.mu.Unlock()
		for i := range batch {
			select {
			case <-l.quit:
				l.mu.Lock()
				l.running = false
				l.mu.Unlock()
				return
			default:
			}
			l.deliver(batch[i])
			batch[i] = busItem{}
		}
	}
}

// deliver calls the handler; a panic is logged with its stack and the
// listener goes on.
func (l *listener) deliver(it busItem) {
	defer func() {
		if r := recover(); r != nil {
			l.sub.s.log.Error("bus handler panicked", "paper", l.sub.paperID, "panic", r, "stack", string(debug.Stack()))
		}
	}()
	if it.resync {
		l.h.Resync()
	} else {
		l.h.Event(it.frame)
	}
}
