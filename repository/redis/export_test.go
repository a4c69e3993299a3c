package redis

import (
	"context"

	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/usecase"
)

// ApplyAsKind runs apply.lua with a raw op kind argument, as if the Go side
// had let through a kind the script does not know.
func ApplyAsKind(ctx context.Context, s *Store, id, kind string, op domain.Op, body []byte) (uint64, error) {
	return s.apply(ctx, id, kind, op, body, usecase.OpOrder{}, usecase.Editor{})
}

// QueuedOps is how many ops wait for the paper's next apply call: -1 when no
// call for the paper is in flight.
func QueuedOps(s *Store, id string) int {
	s.bmu.Lock()
	defer s.bmu.Unlock()
	q, ok := s.queues[id]
	if !ok {
		return -1
	}
	return len(q.pending)
}

// SplitMessage reads a published bus message into its frames.
func SplitMessage(msg string) (frames []string, ok bool) {
	items, ok := splitMessage(msg)
	for _, it := range items {
		frames = append(frames, string(it.frame))
	}
	return frames, ok
}
