package usecase

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/paper"
)

// Papers is the application service for papers as documents: create, fetch,
// finalize and delete. Live editing goes through Hub.
type Papers struct {
	store  Store
	bus    Bus
	limits paper.Limits
	now    func() time.Time
	filter ContentFilter
	// archive, when set, is where finalized papers move (store must then
	// be ArchiveBacked by it, so reads find them there).
	archive Archive
}

// NewPapers wires the paper service.
func NewPapers(store Store, bus Bus, limits paper.Limits) *Papers {
	return &Papers{store: store, bus: bus, limits: limits, now: time.Now}
}

// SetFilter makes Create screen titles and recipients with f (nil: off).
// Call it while wiring, before the service is used.
func (s *Papers) SetFilter(f ContentFilter) { s.filter = f }

// SetArchive makes Delete remove papers from the archive too. The store
// given to NewPapers must be ArchiveBacked(store, a). Call it while wiring.
func (s *Papers) SetArchive(a Archive) { s.archive = a }

// Create makes a new open paper and returns it with its owner key, which is
// shown this once and stored only as a hash. edit is its edit policy
// (domain.EditAuthors or EditOpen; "" means EditAuthors).
func (s *Papers) Create(ctx context.Context, title, to, edit string) (domain.Paper, string, error) {
	if err := s.limits.ValidateTitle(title, to); err != nil {
		return domain.Paper{}, "", err
	}
	if edit == "" {
		edit = domain.EditAuthors
	}
	if err := paper.ValidateEdit(edit); err != nil {
		return domain.Paper{}, "", err
	}
	title, to, err := s.screenTitle(title, to)
	if err != nil {
		return domain.Paper{}, "", err
	}
	key := newOwnerKey()
	p := domain.Paper{
		ID:           NewPaperID(),
		Title:        title,
		To:           to,
		Status:       domain.StatusOpen,
		CreatedAt:    s.now().UTC().Truncate(time.Second),
		Edit:         edit,
		OwnerKeyHash: HashOwnerKey(key),
	}
	created, err := s.store.Create(ctx, p)
	if err != nil {
		return domain.Paper{}, "", fmt.Errorf("create paper: %w", err)
	}
	return created, key, nil
}

// screenTitle applies the content filter to a paper's title and recipient,
// which every visitor of the paper sees.
func (s *Papers) screenTitle(title, to string) (string, string, error) {
	if s.filter == nil {
		return title, to, nil
	}
	title, err := s.filter.ApplyString("title", title)
	if err != nil {
		return "", "", fmt.Errorf("create paper: %w", err)
	}
	to, err = s.filter.ApplyString("to", to)
	if err != nil {
		return "", "", fmt.Errorf("create paper: %w", err)
	}
	return title, to, nil
}

// Exists returns nil for an existing paper and an error wrapping
// domain.ErrNotFound for none, so a page can answer 404 before loading.
func (s *Papers) Exists(ctx context.Context, id string) error {
	if !paper.ValidID(id) {
		return fmt.Errorf("paper %q: %w", id, domain.ErrNotFound)
	}
	if _, err := s.store.Paper(ctx, id); err != nil {
		return fmt.Errorf("paper %s: %w", id, err)
	}
	return nil
}

// Document returns a paper and its elements as of one seq.
func (s *Papers) Document(ctx context.Context, id string) (domain.Document, error) {
	if !paper.ValidID(id) {
		return domain.Document{}, fmt.Errorf("paper %q: %w", id, domain.ErrNotFound)
	}
	doc, err := s.store.Snapshot(ctx, id)
	if err != nil {
		return domain.Document{}, fmt.Errorf("fetch document: %w", err)
	}
	return doc, nil
}

// authorize checks the owner key of a paper.
func (s *Papers) authorize(ctx context.Context, id, ownerKey string) (domain.Paper, error) {
	if !paper.ValidID(id) {
		return domain.Paper{}, fmt.Errorf("paper %q: %w", id, domain.ErrNotFound)
	}
	p, err := s.store.Paper(ctx, id)
	if err != nil {
		return domain.Paper{}, fmt.Errorf("check owner: %w", err)
	}
	if ownerKey == "" {
		return domain.Paper{}, fmt.Errorf("%w: the owner key is required", domain.ErrUnauthorized)
	}
	if !ownerKeyMatches(ownerKey, p.OwnerKeyHash) {
		return domain.Paper{}, fmt.Errorf("%w: wrong owner key", domain.ErrForbidden)
	}
	return p, nil
}

// Finalize makes a paper final (owner only) and returns the final document.
func (s *Papers) Finalize(ctx context.Context, id, ownerKey string) (domain.Document, error) {
	p, err := s.authorize(ctx, id, ownerKey)
	if err != nil {
		return domain.Document{}, err
	}
	if p.Status == domain.StatusFinal {
		return domain.Document{}, fmt.Errorf("paper %s: %w: already final", id, domain.ErrConflict)
	}
	if _, err := s.store.Finalize(ctx, id, s.now().UTC().Truncate(time.Second)); err != nil {
		return domain.Document{}, fmt.Errorf("finalize %s: %w", id, err)
	}
	return s.Document(ctx, id)
}

// Delete removes a paper (owner only); its live sessions are closed. With
// an archive, the archive's tombstone is written first: when the archive
// cannot be reached, Delete fails (ErrUnavailable) with nothing deleted, so
// a paper never lingers in the archive after its owner saw it deleted, and
// an archiver that reads the paper later cannot bring it back.
func (s *Papers) Delete(ctx context.Context, id, ownerKey string) error {
	if _, err := s.authorize(ctx, id, ownerKey); err != nil {
		return err
	}
	if s.archive != nil {
		if err := s.archive.Delete(ctx, id); err != nil {
			if !errors.Is(err, domain.ErrUnavailable) {
				err = fmt.Errorf("%w: %w", domain.ErrUnavailable, err)
			}
			return fmt.Errorf("delete %s from the archive: %w", id, err)
		}
	}
	err := s.store.Delete(ctx, id)
	if s.archive != nil && errors.Is(err, domain.ErrNotFound) {
		// Only the archive had it (the store let it go after archiving).
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete %s: %w", id, err)
	}
	return nil
}

// SetEdit changes a paper's edit policy (owner only) and returns the paper.
// Open sessions get a policy frame, in seq order with the ops: every op
// before it was checked against the old policy, every op after it against
// the new one.
func (s *Papers) SetEdit(ctx context.Context, id, ownerKey, edit string) (domain.Paper, error) {
	if _, err := s.authorize(ctx, id, ownerKey); err != nil {
		return domain.Paper{}, err
	}
	if err := paper.ValidateEdit(edit); err != nil {
		return domain.Paper{}, err
	}
	p, err := s.store.SetEdit(ctx, id, edit)
	if err != nil {
		return domain.Paper{}, fmt.Errorf("set edit policy of %s: %w", id, err)
	}
	return p, nil
}

// Ban removes a user from a paper (owner only): their sessions on every
// replica are closed and they can neither join nor edit until Unban.
func (s *Papers) Ban(ctx context.Context, id, ownerKey, user string) error {
	return s.moderate(ctx, "ban", id, ownerKey, user, s.store.Ban)
}

// Unban lifts a ban (owner only); lifting one that is not there is no error.
func (s *Papers) Unban(ctx context.Context, id, ownerKey, user string) error {
	return s.moderate(ctx, "unban", id, ownerKey, user, s.store.Unban)
}

// moderate checks the owner key and the user id, then runs a ban store call.
func (s *Papers) moderate(ctx context.Context, what, id, ownerKey, user string, call func(ctx context.Context, id, user string) error) error {
	if _, err := s.authorize(ctx, id, ownerKey); err != nil {
		return err
	}
	if err := paper.ValidateUser(user); err != nil {
		return err
	}
	if err := call(ctx, id, user); err != nil {
		return fmt.Errorf("%s on %s: %w", what, id, err)
	}
	return nil
}

// Ready reports whether the store and the bus both work.
func (s *Papers) Ready(ctx context.Context) error {
	if err := s.store.Ping(ctx); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if err := s.bus.Ready(ctx); err != nil {
		return fmt.Errorf("bus: %w", err)
	}
	return nil
}
