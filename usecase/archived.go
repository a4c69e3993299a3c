package usecase

import (
	"context"
	"errors"
	"fmt"

	"github.com/papercast/papercast/domain"
)

// ArchiveBacked returns a store that answers for the papers s has let go
// (archived, then expired from Redis) from the archive a: Paper and Snapshot
// fall back to the archive when s says ErrNotFound, with the same metadata
// (so the same ETag) as s served before; History of such a paper says
// ErrHistoryGone, so a resuming session gets a snapshot. Every write goes to
// s only: an archived paper is final, and s refuses to change what it does
// not have. The Papers service and the Hub take this store; the Archiver
// takes s itself.
func ArchiveBacked(s Store, a Archive) Store {
	return archiveBacked{Store: s, archive: a}
}

type archiveBacked struct {
	Store
	archive Archive
}

// fromArchive reads an archived paper after the store said storeErr
// (ErrNotFound). It returns storeErr when the archive has none either, and
// an error wrapping domain.ErrUnavailable when the archive cannot answer.
func (s archiveBacked) fromArchive(ctx context.Context, id string, storeErr error) (domain.Document, error) {
	doc, err := s.archive.Get(ctx, id)
	switch {
	case err == nil:
		return doc, nil
	case errors.Is(err, domain.ErrNotFound):
		return domain.Document{}, storeErr
	case errors.Is(err, domain.ErrUnavailable):
		return domain.Document{}, fmt.Errorf("paper %s from the archive: %w", id, err)
	default:
		return domain.Document{}, fmt.Errorf("paper %s from the archive: %w: %w", id, domain.ErrUnavailable, err)
	}
}

func (s archiveBacked) Paper(ctx context.Context, id string) (domain.Paper, error) {
	p, err := s.Store.Paper(ctx, id)
	if !errors.Is(err, domain.ErrNotFound) {
		return p, err
	}
	doc, err := s.fromArchive(ctx, id, err)
	return doc.Paper, err
}

func (s archiveBacked) Snapshot(ctx context.Context, id string) (domain.Document, error) {
	doc, err := s.Store.Snapshot(ctx, id)
	if !errors.Is(err, domain.ErrNotFound) {
		return doc, err
	}
	return s.fromArchive(ctx, id, err)
}

func (s archiveBacked) History(ctx context.Context, id, epoch string, since uint64) ([]domain.Event, uint64, error) {
	evs, cur, err := s.Store.History(ctx, id, epoch, since)
	if !errors.Is(err, domain.ErrNotFound) {
		return evs, cur, err
	}
	doc, err := s.fromArchive(ctx, id, err)
	if err != nil {
		return nil, 0, err
	}
	return nil, doc.Paper.Seq, fmt.Errorf("history %s: the paper is archived: %w", id, ErrHistoryGone)
}

// Touch of an archived paper the store let go is a no-op: it has no idle
// clock (a join of it must not fail on the store's ErrNotFound).
func (s archiveBacked) Touch(ctx context.Context, id string) error {
	err := s.Store.Touch(ctx, id)
	if !errors.Is(err, domain.ErrNotFound) {
		return err
	}
	_, err = s.fromArchive(ctx, id, err)
	return err
}
