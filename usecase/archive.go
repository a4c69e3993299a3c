package usecase

import (
	"context"

	"github.com/papercast/papercast/domain"
)

// Archive is the durable home of finalized papers (issue 11): PostgreSQL for
// replicas, SQLite for a one-machine try-out. Redis lets a paper go once it
// is archived, so from then on the archive answers reads of it.
//
// repository/archive/postgres and repository/archive/sqlite implement it;
// repository/archive/archivetest is the contract both pass.
type Archive interface {
	// Put stores a final document exactly once: a second Put of the same
	// paper id (a retry, or two replicas archiving it at once) changes
	// nothing and returns nil. A Put of a paper that was deleted (see
	// Delete) stores nothing and returns nil, so a late archiver cannot
	// bring a deleted paper back. Field values and element order are kept
	// byte for byte: Get returns exactly what was put.
	Put(ctx context.Context, doc domain.Document) error
	// Get returns an archived paper; domain.ErrNotFound when there is none
	// or it was deleted.
	Get(ctx context.Context, id string) (domain.Document, error)
	// Delete removes an archived paper and remembers that it was deleted
	// (a tombstone), whether or not it had been archived yet. Deleting
	// twice is harmless.
	Delete(ctx context.Context, id string) error
	// Ping checks the archive answers (for /admin; live editing does not
	// need the archive, so /readyz does not ask it).
	Ping(ctx context.Context) error
	// Close releases the archive's connections.
	Close() error
}
