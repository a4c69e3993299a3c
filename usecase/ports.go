// Package usecase holds papercast's application services: papers (create,
// fetch, finalize, delete) and live sessions (join, edit, presence, leave),
// with the per-paper fan-out of events to local sessions. The interfaces it
// needs from stores and buses are declared here, where they are consumed.
package usecase

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/papercast/papercast/domain"
)

// ErrHistoryGone means the store's history no longer covers a requested
// range (trimmed, or the paper's epoch changed): the client needs a snapshot.
var ErrHistoryGone = errors.New("history no longer covers the range")

// ErrStaleOp means Apply refused an op because the store had already applied
// a later op of the same session (see OpOrder). Nothing was stored.
var ErrStaleOp = errors.New("a later op of the same session was applied first")

// OpOrder places an op in its session's stream: N counts the session's ops
// from 1 in the order it sent them. Apply refuses an op (ErrStaleOp) when
// the store has already applied one with a higher N from the same Session,
// so one session's ops are applied in the order it sent them, even when a
// call timed out and its op reaches the store after the next one (a
// timeout is not a rollback: the store may still run the op later). The
// zero OpOrder (no session: tools and tests) is not checked.
type OpOrder struct {
	Session string
	N       uint64
}

// OpOrderMemory is how long, at least, a store remembers the last op it
// applied for a session. An older op of that session reaching the store
// later than this after a newer one was applied would not be refused: far
// beyond how long a call can stay queued (Redis clients drop a connection
// that has not answered within the command timeout, failing what it has not
// sent), so only a store stalled for minutes with the op already in its
// socket could exceed it.
const OpOrderMemory = 10 * time.Minute

// Store keeps papers. Each method is one atomic step; the methods that take a
// seq (Apply, Finalize) also append the event frame to the paper's bounded
// history and publish it on the paper's bus channel inside that same step, so
// seq order, history order and publish order are one order.
//
// Errors wrap domain errors: ErrNotFound (no such paper, or Apply deleting an
// element that does not exist), ErrFinalized, ErrTooLarge (paper.Limits),
// ErrForbidden and ErrBanned (Apply), ErrConflict, ErrUnavailable (store
// unreachable); or ErrStaleOp.
type Store interface {
	// Create stores a new paper with Seq 0. The store assigns Epoch: a random
	// id created with the paper's data, which changes if that data is lost
	// and recreated. An empty Edit is stored as domain.EditAuthors.
	// ErrConflict if the id exists.
	Create(ctx context.Context, p domain.Paper) (domain.Paper, error)
	// Paper returns a paper's metadata.
	Paper(ctx context.Context, id string) (domain.Paper, error)
	// Snapshot returns the paper and its elements in creation order, all as
	// of the paper's Seq.
	Snapshot(ctx context.Context, id string) (domain.Document, error)
	// Apply applies a validated op: checks the paper is open, the op is not
	// older than one already applied for its session (ErrStaleOp, see
	// OpOrder), the editor is not banned (domain.ErrBanned) and may change
	// the element (see Editor; domain.ErrForbidden), and the merge stays
	// within limits (paper.Limits.CheckMerge), merges (paper.Merge), takes
	// the next seq, records and publishes protocol.OpFrame(seq, body), and
	// returns the seq. An upsert that creates an element records the
	// editor's user and name as its author and ed.At (whole seconds) as its
	// creation time; nothing changes them later. All of it is one atomic
	// step: a policy change or a ban is either wholly before the op or
	// wholly after it. A rejected op stores nothing.
	Apply(ctx context.Context, id string, op domain.Op, body []byte, order OpOrder, ed Editor) (uint64, error)
	// Finalize marks an open paper final (ErrConflict if it already is),
	// takes the next seq, records and publishes protocol.FinalizedFrame.
	Finalize(ctx context.Context, id string, at time.Time) (domain.Paper, error)
	// SetEdit sets an open paper's edit policy (domain.EditAuthors or
	// EditOpen), takes the next seq, records and publishes
	// protocol.PolicyFrame, and returns the paper. Setting the policy it
	// already has changes nothing and takes no seq. ErrFinalized if final.
	SetEdit(ctx context.Context, id, edit string) (domain.Paper, error)
	// Ban adds user to the paper's bans and publishes protocol.BanFrame, in
	// one step: from then on Apply refuses the user's ops. Banning twice is
	// harmless (it publishes again).
	Ban(ctx context.Context, id, user string) error
	// Unban lifts a ban; lifting one that is not there is harmless.
	Unban(ctx context.Context, id, user string) error
	// Banned reports whether user is banned from the paper (false for an
	// unknown paper).
	Banned(ctx context.Context, id, user string) (bool, error)
	// Bans lists the paper's banned users, in no particular order (none
	// for an unknown paper).
	Bans(ctx context.Context, id string) ([]string, error)
	// Delete removes all of a paper's data (bans included) and publishes
	// protocol.DeletedFrame.
	Delete(ctx context.Context, id string) error
	// History returns the event frames with seq in (since, current], oldest
	// first, and the current seq. ErrHistoryGone when epoch is not the
	// paper's epoch or history no longer reaches back to since+1;
	// ErrInvalid when since is ahead of current.
	History(ctx context.Context, id, epoch string, since uint64) ([]domain.Event, uint64, error)
	// Touch restarts an open paper's idle clock: an open paper nobody
	// touches (no Apply, Touch or Finalize) for the store's open-idle window
	// is dropped with all its data, silently (the Redis store keeps it at
	// most 1.5 windows). A join calls it; Apply refreshes the clock itself,
	// and a final paper has none. ErrNotFound for an unknown paper.
	Touch(ctx context.Context, id string) error
	// RenewEpoch gives the paper a fresh epoch and publishes
	// protocol.EpochFrame, in one step, if its epoch is still ifEpoch;
	// otherwise it changes nothing. It returns the paper's epoch after the
	// call. A room calls it when the store's stream went back below seqs
	// the room delivered (a failover lost acked writes): the seqs after the
	// store's current one will be reused for other events, so history in
	// the old epoch must never be served again (a resume with it gets a
	// snapshot). ErrNotFound for an unknown paper.
	RenewEpoch(ctx context.Context, id, ifEpoch string) (string, error)
	// Ping checks the command path to the store.
	Ping(ctx context.Context) error
}

// Defaults every store shares, because clients see them the same whichever
// store serves them (config.yaml gives the reasons): how many ops back a
// resume reaches, and how long a silently dead replica's presence lingers.
const (
	DefaultHistorySize = 1000
	DefaultPresenceTTL = 30 * time.Second
	// DefaultOpenIdle is how long an open paper nobody touches (no op, join
	// or finalize) stays stored: 30 days.
	DefaultOpenIdle = 720 * time.Hour
)

// Editor is who applies an op, as the store checks and records it.
type Editor struct {
	// User and Name are the session's identity: an element it creates is
	// authored by them, and under domain.EditAuthors only that User (or an
	// owner) may change or delete the element afterwards.
	User string
	Name string
	// Owner says the session proved it holds the paper's owner key: it may
	// change or delete any element.
	Owner bool
	// At is when the op is applied, stamped as the creation time of an
	// element it creates. Passed in (not read from the store's clock) so
	// every store records the same time and tests can fix it.
	At time.Time
}

// PresenceStore keeps the ephemeral who-is-here list of each paper, shared
// by all replicas. Entries expire after the store's TTL unless touched, so a
// replica that dies without saying goodbye loses its sessions' entries.
type PresenceStore interface {
	// SetPresence stores p (refreshing its TTL) and publishes
	// protocol.PresenceFrame(event, p) on the paper's channel.
	SetPresence(ctx context.Context, paperID string, p domain.Presence, event string) error
	// RemovePresence deletes the session's entry and publishes a leave if
	// it was there.
	RemovePresence(ctx context.Context, paperID string, p domain.Presence) error
	// ListPresence returns the live entries, ordered by session id.
	ListPresence(ctx context.Context, paperID string) ([]domain.Presence, error)
	// TouchPresence is one heartbeat for many papers, sent as one batch (a
	// pipeline, not a round trip per paper). For each paper it refreshes
	// the TTL of the given sessions' entries, removes the paper's expired
	// entries and publishes a leave for each of those, and reports the
	// given sessions that had no entry to refresh. The results are in the
	// order of touches; one paper's failure leaves the others' standing.
	TouchPresence(ctx context.Context, touches []PresenceTouch) []TouchResult
}

// PresenceTouch is one paper's share of a presence heartbeat.
type PresenceTouch struct {
	PaperID string
	// Sessions are this replica's live sessions on the paper.
	Sessions []string
}

// TouchResult is what touching one paper found.
type TouchResult struct {
	// Missing are the given sessions that had no entry to refresh (purged by
	// another replica's sweep, or lost with the store's data); their owner
	// stores them again with SetPresence.
	Missing []string
	// Err is this paper's failure.
	Err error
}

// BusHandler receives one paper's events. Calls for one subscription never
// overlap and come in publish order. They must not block: a bus may call
// them on the connection that reads every paper's events.
type BusHandler interface {
	// Event is one event frame as published (protocol package encoding).
	Event(frame []byte)
	// Resync says the subscription broke and was made again: events
	// published in between may be lost, so the handler must catch up from
	// the store.
	Resync()
}

// Bus carries each paper's events to every replica subscribed to it.
type Bus interface {
	// Subscribe subscribes to a paper's channel. When it returns without
	// error the subscription is active: every event published afterwards
	// reaches h. Call the returned function once to unsubscribe.
	Subscribe(ctx context.Context, paperID string, h BusHandler) (unsubscribe func(), err error)
	// Ready checks the bus can receive: its subscriber connection is up.
	Ready(ctx context.Context) error
}

// ContentFilter screens the text people write on a paper: every string in
// an upsert's field values, a paper's title and recipient, a session's
// display name. Under a reject policy a method returns an error wrapping
// domain.ErrFiltered when the text holds a blocked word; under a mask policy
// it returns the text with each match masked. Neither modifies its input.
// moderation.Filter implements it.
type ContentFilter interface {
	// ApplyFields screens the values of validated upsert fields.
	ApplyFields(fields map[string]json.RawMessage) (map[string]json.RawMessage, error)
	// ApplyString screens one text; what names it in the error ("title").
	ApplyString(what, s string) (string, error)
}
