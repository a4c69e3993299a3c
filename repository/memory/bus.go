package memory

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/papercast/papercast/usecase"
)

// subscription delivers one paper's frames to one handler, in publish order,
// from a drainer goroutine that runs only while the queue holds frames: the
// first frame into an empty queue starts it and it ends once the queue is
// empty, so an idle paper holds no goroutine (and no 4 KiB stack). Publishers only append to queue (a short lock,
// never held across a handler call), so a publisher holding a paper's lock
// never waits for a handler, and a handler may call the store freely.
//
// The queue is unbounded: the BusHandler contract says handlers never block,
// so the drainer keeps up with publishers; a handler that did block would
// grow only its own queue and delay only its own deliveries.
type subscription struct {
	h usecase.BusHandler

	mu      sync.Mutex
	queue   [][]byte
	running bool        // a drainer is running (guarded by mu)
	closed  atomic.Bool // read by the drainer between handler calls

	wg *sync.WaitGroup // the store's: Close waits for running drainers
}

func (sub *subscription) enqueue(frame []byte) {
	sub.mu.Lock()
	if sub.closed.Load() {
		sub.mu.Unlock()
		return
	}
	sub.queue = append(sub.queue, frame)
	start := !sub.running
	if start {
		// Under mu and before stop: Close's Wait comes after every stop.
		sub.running = true
		sub.wg.Add(1)
	}
	sub.mu.Unlock()
	if start {
		go sub.drain()
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
}

// drain passes queued frames on until the queue is empty or the
// subscription stopped. It swaps the queue with its own emptied batch so
// that a steady stream allocates nothing.
func (sub *subscription) drain() {
	defer sub.wg.Done()
	var batch [][]byte
	for {
		sub.mu.Lock()
		if sub.closed.Load() || len(sub.queue) == 0 {
			sub.running = false
			if cap(sub.queue) > 64 {
				sub.queue = nil // a burst's buffer need not outlive it
			}
			sub.mu.Unlock()
			return
		}
		batch, sub.queue = sub.queue, batch[:0]
		sub.mu.Unlock()
		for i, frame := range batch {
			if sub.closed.Load() {
				sub.mu.Lock()
				sub.running = false
				sub.mu.Unlock()
				return
			}
			sub.h.Event(frame)
			batch[i] = nil // let the frame be collected
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
	sub := &subscription{h: h, wg: &s.subsWG}
	s.busMu.Lock()
	if err := s.unavailable(); err != nil { // checked under busMu: Close sets it there
		s.busMu.Unlock()
		return nil, err
	}
	s.topics[paperID] = append(slices.Clip(s.topics[paperID]), sub)
	s.busMu.Unlock()

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
