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
