package memory

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/papercast/papercast/usecase"
)

// subscription delivers one paper's frames to one handler, in publish order,
// from its own goroutine. Publishers only append to queue (a short lock,
// never held across a handler call), so a publisher holding a paper's lock
// never waits for a handler, and a handler may call the store freely.
//
// The queue is unbounded: the BusHandler contract says handlers never block,
// so the drainer keeps up with publishers; a handler that did block would
// grow only its own queue and delay only its own deliveries.
type subscription struct {
	h usecase.BusHandler

	mu     sync.Mutex
	queue  [][]byte
	closed atomic.Bool // read by the drainer between handler calls

	wake chan struct{} // capacity 1: "the queue may be non-empty"
	done chan struct{} // closed by stop
}

func (sub *subscription) enqueue(frame []byte) {
	sub.mu.Lock()
	if sub.closed.Load() {
		sub.mu.Unlock()
		return
	}
	sub.queue = append(sub.queue, frame)
	sub.mu.Unlock()
	select {
	case sub.wake <- struct{}{}:
	default: // a wake-up is already pending; it will see this frame too
	}
}

// stop ends the subscription: nothing more is queued, queued frames are
// dropped, and the drainer exits before its next handler call.
func (sub *subscription) stop() {
	sub.mu.Lock()
	if sub.closed.Load() {
		sub.mu.Unlock()
		return
	}
	sub.closed.Store(true)
	sub.queue = nil
	sub.mu.Unlock()
	close(sub.done)
}

// drain is the subscription's goroutine. It swaps the queue with its own
// emptied batch so that steady traffic allocates nothing.
func (sub *subscription) drain(wg *sync.WaitGroup) {
	defer wg.Done()
	var batch [][]byte
	for {
		select {
		case <-sub.wake:
		case <-sub.done:
			return
		}
		sub.mu.Lock()
		batch, sub.queue = sub.queue, batch[:0]
		sub.mu.Unlock()
		for i, frame := range batch {
			if sub.closed.Load() {
				return
			}
			sub.h.Event(frame)
			batch[i] = nil // let the frame be collected
		}
		if cap(batch) > 4096 { // a burst is over: do not keep its buffer
			batch = nil
		}
	}
}

// publish hands a frame to every subscription of the paper. Callers that
// need publish order to match another order (seq) call it inside the lock
// that defines that order.
func (s *Store) publish(paperID string, frame []byte) {
	s.busMu.RLock()
	for _, sub := range s.topics[paperID] {
		sub.enqueue(frame)
	}
	s.busMu.RUnlock()
}

// Subscribe subscribes h to a paper's events. The subscription is active
// when Subscribe returns: it is in the paper's list before any later publish
// takes the read lock. It is tied to the id, not to the paper's data, so it
// may precede Create and survives Delete.
func (s *Store) Subscribe(_ context.Context, paperID string, h usecase.BusHandler) (func(), error) {
	sub := &subscription{h: h, wake: make(chan struct{}, 1), done: make(chan struct{})}
	s.busMu.Lock()
	if err := s.unavailable(); err != nil { // checked under busMu: Close sets it there
		s.busMu.Unlock()
		return nil, err
	}
	s.topics[paperID] = append(slices.Clip(s.topics[paperID]), sub)
	s.subsWG.Add(1)
	s.busMu.Unlock()
	go sub.drain(&s.subsWG)

	var once sync.Once
	return func() {
		once.Do(func() {
			s.busMu.Lock()
			list := s.topics[paperID]
			if i := slices.Index(list, sub); i >= 0 {
				// Copy, never edit in place: a publisher may be iterating list.
				list = slices.Delete(slices.Clone(list), i, i+1)
				if len(list) == 0 {
					delete(s.topics, paperID)
				} else {
					s.topics[paperID] = list
				}
			}
			s.busMu.Unlock()
			sub.stop()
		})
	}, nil
}
