// Package redis keeps papers, presence and the per-paper event bus in Redis
// with github.com/redis/rueidis, so any number of replicas share one state
// and one order of events. It implements usecase.Store, usecase.PresenceStore
// and usecase.Bus.
//
// Every key of a paper carries the hash tag {paperID}, so a Redis Cluster
// keeps a paper in one slot and each Lua script runs on one node:
//
//	<prefix>{id}:meta  hash   title, to, status, seq, epoch, createdAt,
//	                          finalizedAt (unix seconds), owner (hex SHA-256),
//	                          elems (counter giving elements their order),
//	                          ne (live elements), nbans (size of :b),
//	                          exp (an open paper's idle deadline, unix ms:
//	                          its data keys expire then, see Options.OpenIdle;
//	                          ne, nbans, exp absent on papers stored before),
//	                          edit (policy; absent on papers stored before
//	                          policies existed: those are open)
//	<prefix>{id}:f     hash   "<element>:<field>" -> JSON value, byte for byte
//	<prefix>{id}:e     hash   "<element>" -> "<order> <size> <field>=<len>...|<user>"
//	                          so the scripts check limits and the author without
//	                          parsing JSON or reading :a (older records list bare
//	                          "<field>" names, or have no "|<user>")
//	<prefix>{id}:a     hash   "<element>" -> "<createdAt> <len(user)> <user><name>",
//	                          its author, stamped when it was created (not
//	                          counted in the element's size)
//	                          :meta, :f, :e and :a of a paper of 8 elements or
//	                          more also hold "~" (no element: it keeps them
//	                          hashtables, see padField); meta "ht" says they do
//	<prefix>{id}:b     set    banned user ids
//	<prefix>{id}:h     list   the last HistorySize event frames (none once final),
//	                          and up to HistorySize/32 older ones (trimmed in steps)
//	<prefix>{id}:p     hash   presence: session -> JSON entry
//	<prefix>{id}:pl    hash   presence: session -> ready-made leave frame
//	<prefix>{id}:pz    zset   presence: session -> expiry (unix ms, Redis clock)
//	<prefix>{id}:o:<session>  string  the N of the session's last applied op
//	                          (usecase.OpOrder); expires usecase.OpOrderMemory
//	                          after that op, so Delete leaves it to expire
//	<prefix>{id}:ch    the paper's pub/sub channel (sharded in cluster mode)
//	<prefix>archive    zset   papers finalized and not yet archived: id ->
//	                          due (unix ms; a claim's lease end). See archive.go.
//
// An archived paper's meta has archived=1 and every key of it expires
// archive.keep_in_redis after the archiver's Done.
//
// Start-up: New fails (wrapping domain.ErrUnavailable) when Redis cannot be
// reached; the caller decides whether to retry. Afterwards rueidis reconnects
// by itself, and the bus resubscribes every channel and tells each handler
// to Resync.
package redis

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"

	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/paper"
	"github.com/papercast/papercast/protocol"
	"github.com/papercast/papercast/usecase"
)

var (
	_ usecase.Store         = (*Store)(nil)
	_ usecase.PresenceStore = (*Store)(nil)
	_ usecase.Bus           = (*Store)(nil)
)

// Store is the Redis store, presence store and bus. It is safe for
// concurrent use. Close it when done.
type Store struct {
	opts Options
	log  *slog.Logger
	// cmd carries commands and scripts; sub is a second client used only
	// for pub/sub, so a burst of events never queues behind (or in front
	// of) commands, and its connection state is the bus's readiness.
	cmd, sub rueidis.Client
	sharded  bool // cluster mode: SSUBSCRIBE/SPUBLISH
	pubCmd   string
	scripts  scripts
	applyLua luaSource
	ackedSrc map[*rueidis.Lua]luaSource // see acked

	// Script arguments that never change, formatted once.
	histSize, ttlMS, window string
	finPrefix, finSuffix    string

	// Apply's batching (apply.go): queues holds a paper's queue while a
	// call for it is in flight; drains are the goroutines sending queued
	// ops, which Close waits for.
	bmu     sync.Mutex
	bclosed bool
	queues  map[string]*applyQueue
	drains  sync.WaitGroup

	mu      sync.Mutex
	subs    map[string]*subscription
	closed  bool
	closing atomic.Bool
}

// New connects to Redis and returns the store. It fails, wrapping
// domain.ErrUnavailable, when Redis does not answer within the timeouts.
// log may be nil.
func New(ctx context.Context, o Options, log *slog.Logger) (*Store, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	co := o.clientOption()
	cmd, err := rueidis.NewClient(co)
	if err != nil {
		return nil, fmt.Errorf("redis %s: %w: %w", strings.Join(o.Addrs, ","), domain.ErrUnavailable, err)
	}
	mode := cmd.Mode()
	pubCmd := "PUBLISH"
	if mode == rueidis.ClientModeCluster {
		pubCmd = "SPUBLISH"
	}
	applyLua := newApplyScript(o, pubCmd)
	if o.Observer != nil {
		cmd = newObservedClient(cmd, o.Observer, applyLua)
	}
	if o.Mode == ModeCluster && mode != rueidis.ClientModeCluster {
		cmd.Close()
		return nil, fmt.Errorf("redis %s: mode cluster asked, but the server is %s", strings.Join(o.Addrs, ","), mode)
	}
	// The pub/sub client: same topology, fixed to what the command client
	// found, and without rueidis's own retries so that every broken
	// subscription surfaces to the bus (which marks it down, resubscribes
	// and has the handler resync).
	so := o.clientOption()
	so.DisableRetry = true
	so.WriteBufferEachConn = 64 << 10 // it only writes (un)subscribes and pings
	if mode == rueidis.ClientModeStandalone {
		so.ForceSingleClient = true
	}
	sub, err := rueidis.NewClient(so)
	if err != nil {
		cmd.Close()
		return nil, fmt.Errorf("redis %s: pub/sub connection: %w: %w", strings.Join(o.Addrs, ","), domain.ErrUnavailable, err)
	}
	finPrefix, finSuffix := seqAffixes(protocol.FinalizedFrame(0))
	s := &Store{
		opts:      o,
		log:       log,
		cmd:       cmd,
		sub:       sub,
		sharded:   mode == rueidis.ClientModeCluster,
		pubCmd:    pubCmd,
		applyLua:  applyLua,
		scripts:   newScripts(),
		histSize:  strconv.Itoa(o.HistorySize),
		ttlMS:     strconv.FormatInt(o.PresenceTTL.Milliseconds(), 10),
		window:    strconv.FormatInt(o.OpenIdle.Milliseconds(), 10),
		finPrefix: finPrefix,
		finSuffix: finSuffix,
		subs:      make(map[string]*subscription),
		queues:    make(map[string]*applyQueue),
	}
	s.ackedSrc = ackedSources(s.scripts)
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, err
	}
	log.Info("redis store connected", "options", o, "mode", string(mode))
	return s, nil
}

// Close ends every subscription and closes the connections. Handlers get
// no calls after Close returns (except one already in progress).
func (s *Store) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.bmu.Lock()
	s.bclosed = true
	s.bmu.Unlock()
	// Closing the connections drops every subscription at once: no
	// UNSUBSCRIBE per channel.
	s.closing.Store(true)
	var subs []*subscription
	for _, sub := range s.subs {
		sub.mu.Lock()
		if !sub.closing {
			sub.closing = true
			subs = append(subs, sub)
		}
		for _, l := range sub.listeners {
			l.stop()
		}
		sub.listeners = nil
		sub.signalLocked() // a Subscribe waiting for confirmation gives up
		sub.mu.Unlock()
	}
	s.mu.Unlock()
	for _, sub := range subs {
		sub.close()
	}
	s.drains.Wait() // each ends with its call in flight
	s.sub.Close()
	s.cmd.Close()
}

// Sharded reports whether the bus uses sharded pub/sub (cluster mode).
func (s *Store) Sharded() bool { return s.sharded }

// keys of one paper.
type keys struct {
	meta, fields, elems, hist string
	authors, bans             string
	pres, presLeave, presExp  string
	channel                   string
	order                     string // + session id
}

func (s *Store) keys(id string) keys {
	base := s.opts.KeyPrefix + "{" + id + "}:"
	return keys{
		meta:      base + "meta",
		fields:    base + "f",
		elems:     base + "e",
		hist:      base + "h",
		authors:   base + "a",
		bans:      base + "b",
		pres:      base + "p",
		presLeave: base + "pl",
		presExp:   base + "pz",
		channel:   base + "ch",
		order:     base + "o:",
	}
}

// Channel is the pub/sub channel of a paper (for tests and tools).
func (s *Store) Channel(paperID string) string { return s.keys(paperID).channel }

// opCtx bounds one call by CommandTimeout.
func (s *Store) opCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.opts.CommandTimeout)
}

// errPrefix starts the error replies of our scripts: "PAPERCAST <code> <message>".
const errPrefix = "PAPERCAST "

var scriptErrors = map[string]error{
	"not_found":   domain.ErrNotFound,
	"finalized":   domain.ErrFinalized,
	"too_large":   domain.ErrTooLarge,
	"conflict":    domain.ErrConflict,
	"invalid":     domain.ErrInvalid,
	"unsupported": domain.ErrUnsupported,
	"stale":       usecase.ErrStaleOp,
	"forbidden":   domain.ErrForbidden,
	"banned":      domain.ErrBanned,
}

// Redis error replies that mean "cannot serve writes right now".
var unavailableReplies = []string{"LOADING", "BUSY", "CLUSTERDOWN", "TRYAGAIN", "READONLY", "MASTERDOWN", "NOREPLICAS", "OOM", "MOVED", "ASK"}

// mapErr turns a rueidis error into one wrapping a domain error: our
// scripts' refusals to their domain error, a Redis that is down, hung,
// loading or failing over to domain.ErrUnavailable.
func mapErr(what, id string, err error) error {
	if rerr, ok := rueidis.IsRedisErr(err); ok {
		msg := rerr.Error()
		if rest, ok := strings.CutPrefix(msg, errPrefix); ok {
			code, detail, _ := strings.Cut(rest, " ")
			if derr, ok := scriptErrors[code]; ok {
				return fmt.Errorf("%s %s: %w: %s", what, id, derr, detail)
			}
		}
		for _, p := range unavailableReplies {
			if strings.HasPrefix(msg, p) {
				return fmt.Errorf("%s %s: %w: %w", what, id, domain.ErrUnavailable, err)
			}
		}
		return fmt.Errorf("%s %s: redis: %w", what, id, err)
	}
	// Not a Redis reply: connection refused or lost, timeout, closed client.
	return fmt.Errorf("%s %s: %w: %w", what, id, domain.ErrUnavailable, err)
}

// Ping checks the command path to Redis.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	if err := s.cmd.Do(ctx, s.cmd.B().Ping().Build()).Error(); err != nil {
		return mapErr("ping", "redis", err)
	}
	return nil
}

// Create stores a new paper with seq 0 and a fresh random epoch.
func (s *Store) Create(ctx context.Context, p domain.Paper) (domain.Paper, error) {
	if !paper.ValidID(p.ID) {
		return domain.Paper{}, fmt.Errorf("create %q: %w: bad paper id", p.ID, domain.ErrInvalid)
	}
	p.Seq = 0
	p.Epoch = usecase.NewEpoch()
	if p.Status == "" {
		p.Status = domain.StatusOpen
	}
	if p.Edit == "" {
		p.Edit = domain.EditAuthors
	}
	p.CreatedAt = time.Unix(p.CreatedAt.Unix(), 0).UTC()
	args := []string{
		"title", p.Title,
		"to", p.To,
		"status", p.Status,
		"seq", "0",
		"epoch", p.Epoch,
		"createdAt", strconv.FormatInt(p.CreatedAt.Unix(), 10),
		"owner", hex.EncodeToString(p.OwnerKeyHash),
		"elems", "0",
		"ne", "0",
		"nbans", "0",
		"edit", p.Edit,
	}
	if p.FinalizedAt != nil {
		at := time.Unix(p.FinalizedAt.Unix(), 0).UTC()
		p.FinalizedAt = &at
		args = append(args, "finalizedAt", strconv.FormatInt(at.Unix(), 10))
	}
	k := s.keys(p.ID)
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	if _, err := s.acked(ctx, "create", p.ID, s.scripts.create, []string{k.meta, k.fields, k.elems, k.hist, k.authors, k.bans}, append([]string{s.window}, args...)); err != nil {
		return domain.Paper{}, err
	}
	p.OwnerKeyHash = append([]byte(nil), p.OwnerKeyHash...)
	return p, nil
}

// Paper returns a paper's metadata.
func (s *Store) Paper(ctx context.Context, id string) (domain.Paper, error) {
	if !paper.ValidID(id) {
		return domain.Paper{}, fmt.Errorf("paper %q: %w", id, domain.ErrNotFound)
	}
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	m, err := s.cmd.Do(ctx, s.cmd.B().Hgetall().Key(s.keys(id).meta).Build()).AsStrMap()
	if err != nil {
		return domain.Paper{}, mapErr("paper", id, err)
	}
	return parseMeta(id, m)
}

// parseMeta reads a meta hash.
func parseMeta(id string, m map[string]string) (domain.Paper, error) {
	if len(m) == 0 {
		return domain.Paper{}, fmt.Errorf("paper %s: %w", id, domain.ErrNotFound)
	}
	p := domain.Paper{ID: id, Title: m["title"], To: m["to"], Status: m["status"], Epoch: m["epoch"], Edit: m["edit"]}
	if p.Edit == "" {
		p.Edit = domain.EditOpen // stored before papers had a policy
	}
	var errs []error
	var err error
	if p.Seq, err = strconv.ParseUint(m["seq"], 10, 64); err != nil {
		errs = append(errs, err)
	}
	created, err := strconv.ParseInt(m["createdAt"], 10, 64)
	if err != nil {
		errs = append(errs, err)
	}
	p.CreatedAt = time.Unix(created, 0).UTC()
	if v, ok := m["finalizedAt"]; ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			errs = append(errs, err)
		}
		at := time.Unix(n, 0).UTC()
		p.FinalizedAt = &at
	}
	if p.OwnerKeyHash, err = hex.DecodeString(m["owner"]); err != nil {
		errs = append(errs, err)
	}
	if p.Status == "" || p.Epoch == "" {
		errs = append(errs, errors.New("no status or epoch"))
	}
	if err := errors.Join(errs...); err != nil {
		return domain.Paper{}, fmt.Errorf("paper %s: corrupt metadata in redis: %w", id, err)
	}
	return p, nil
}

// Snapshot returns the paper and its elements in creation order, read in
// one atomic step, so they are exactly the state at Paper.Seq.
func (s *Store) Snapshot(ctx context.Context, id string) (domain.Document, error) {
	if !paper.ValidID(id) {
		return domain.Document{}, fmt.Errorf("paper %q: %w", id, domain.ErrNotFound)
	}
	k := s.keys(id)
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	parts, err := s.scripts.snapshot.Exec(ctx, s.cmd, []string{k.meta, k.fields, k.elems, k.authors}, nil).ToArray()
	if err != nil {
		return domain.Document{}, mapErr("snapshot", id, err)
	}
	if len(parts) != 4 {
		return domain.Document{}, fmt.Errorf("snapshot %s: unexpected reply of %d parts", id, len(parts))
	}
	meta, _ := parts[0].AsStrMap()
	p, err := parseMeta(id, meta)
	if err != nil {
		return domain.Document{}, err
	}
	recs, _ := parts[1].ToArray()
	type ordered struct {
		order int64
		el    domain.Element
	}
	els := make([]ordered, 0, len(recs)/2)
	index := make(map[string]int, len(recs)/2)
	for i := 0; i+1 < len(recs); i += 2 {
		eid, _ := recs[i].ToString()
		if eid == padField {
			continue
		}
		rec, _ := recs[i+1].ToString()
		orderStr, rest, _ := strings.Cut(rec, " ")
		order, err := strconv.ParseInt(orderStr, 10, 64)
		if err != nil {
			return domain.Document{}, fmt.Errorf("snapshot %s: corrupt element record %q", id, rec)
		}
		_, names, _ := strings.Cut(rest, " ")
		names, _, _ = strings.Cut(names, "|") // its author's user id follows
		n := strings.Count(names, " ") + 1
		if names == "" {
			n = 0
		}
		index[eid] = len(els)
		els = append(els, ordered{order: order, el: domain.Element{ID: eid, Fields: make(map[string]json.RawMessage, n)}})
	}
	fields, _ := parts[2].ToArray()
	for i := 0; i+1 < len(fields); i += 2 {
		fk, _ := fields[i].ToString()
		if fk == padField {
			continue
		}
		v, _ := fields[i+1].ToString()
		eid, name, ok := strings.Cut(fk, ":")
		j, known := index[eid]
		if !ok || !known {
			return domain.Document{}, fmt.Errorf("snapshot %s: field %q of no element", id, fk)
		}
		els[j].el.Fields[name] = json.RawMessage(v)
	}
	authors, _ := parts[3].ToArray()
	for i := 0; i+1 < len(authors); i += 2 {
		eid, _ := authors[i].ToString()
		if eid == padField {
			continue
		}
		rec, _ := authors[i+1].ToString()
		j, known := index[eid]
		by, at, ok := parseAuthor(rec)
		if !known || !ok {
			return domain.Document{}, fmt.Errorf("snapshot %s: author record %q of element %q", id, rec, eid)
		}
		els[j].el.By, els[j].el.CreatedAt = by, at
	}
	sort.Slice(els, func(a, b int) bool { return els[a].order < els[b].order })
	doc := domain.Document{Paper: p, Elements: make([]domain.Element, len(els))}
	for i := range els {
		doc.Elements[i] = els[i].el
	}
	return doc, nil
}

// parseAuthor reads an element's author record as apply.lua writes it:
// "<createdAt> <len(user)> <user><name>", so the script reads the user
// without a JSON parser, whatever bytes the user id holds.
func parseAuthor(rec string) (domain.ElementAuthor, time.Time, bool) {
	atStr, rest, ok1 := strings.Cut(rec, " ")
	nStr, rest, ok2 := strings.Cut(rest, " ")
	at, err1 := strconv.ParseInt(atStr, 10, 64)
	n, err2 := strconv.Atoi(nStr)
	if !ok1 || !ok2 || err1 != nil || err2 != nil || n < 0 || n > len(rest) {
		return domain.ElementAuthor{}, time.Time{}, false
	}
	return domain.ElementAuthor{User: rest[:n], Name: rest[n:]}, time.Unix(at, 0).UTC(), true
}

// Finalize marks an open paper final, with the next seq, and publishes
// protocol.FinalizedFrame. ErrConflict if it already is final.
func (s *Store) Finalize(ctx context.Context, id string, at time.Time) (domain.Paper, error) {
	if !paper.ValidID(id) {
		return domain.Paper{}, fmt.Errorf("finalize %q: %w", id, domain.ErrNotFound)
	}
	k := s.keys(id)
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	if err := s.queueBeforeFinalize(ctx, id, at); err != nil {
		return domain.Paper{}, err
	}
	fkeys, fargs := s.queueOnFinalize(id, at, []string{k.meta, k.hist, k.fields, k.elems, k.authors, k.bans}, []string{
		s.histSize, s.pubCmd, k.channel, s.finPrefix, s.finSuffix,
		strconv.FormatInt(at.Unix(), 10), domain.StatusOpen, domain.StatusFinal,
	})
	res, err := s.acked(ctx, "finalize", id, s.scripts.finalize, fkeys, fargs)
	if err != nil {
		return domain.Paper{}, err
	}
	m, err := res.AsStrMap()
	if err != nil {
		return domain.Paper{}, mapErr("finalize", id, err)
	}
	return parseMeta(id, m)
}

// Touch restarts an open paper's idle clock (Options.OpenIdle) with
// touch.lua; ops and finalize do it themselves. Cheap: it writes only when
// less than a window is left. ErrNotFound for an unknown paper.
func (s *Store) Touch(ctx context.Context, id string) error {
	if !paper.ValidID(id) {
		return fmt.Errorf("touch %q: %w", id, domain.ErrNotFound)
	}
	k := s.keys(id)
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	err := s.scripts.touch.Exec(ctx, s.cmd, []string{k.meta, k.fields, k.elems, k.hist, k.authors, k.bans},
		[]string{s.window, domain.StatusOpen}).Error()
	if err != nil {
		return mapErr("touch", id, err)
	}
	return nil
}

// SetEdit sets an open paper's edit policy with policy.lua: a change takes
// the next seq and publishes protocol.PolicyFrame.
func (s *Store) SetEdit(ctx context.Context, id, edit string) (domain.Paper, error) {
	if !paper.ValidID(id) {
		return domain.Paper{}, fmt.Errorf("set edit %q: %w", id, domain.ErrNotFound)
	}
	prefix, suffix := seqAffixes(protocol.PolicyFrame(0, edit))
	k := s.keys(id)
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	res, err := s.acked(ctx, "set edit", id, s.scripts.policy, []string{k.meta, k.hist}, []string{
		s.histSize, s.pubCmd, k.channel, prefix, suffix, edit, domain.StatusOpen, domain.EditOpen,
	})
	if err != nil {
		return domain.Paper{}, err
	}
	m, err := res.AsStrMap()
	if err != nil {
		return domain.Paper{}, mapErr("set edit", id, err)
	}
	return parseMeta(id, m)
}

// seqAffixes cuts a frame encoded with seq 0 around that seq, for a script
// to put the real one in between.
func seqAffixes(frame []byte) (prefix, suffix string) {
	const key = `"seq":`
	i := strings.Index(string(frame), key+"0")
	return string(frame[:i+len(key)]), string(frame[i+len(key)+1:])
}

// Ban adds user to the paper's bans and publishes protocol.BanFrame, in
// one script.
func (s *Store) Ban(ctx context.Context, id, user string) error {
	return s.runBans(ctx, "ban", id, s.scripts.ban, func(k keys) []string {
		return []string{s.pubCmd, k.channel, user, string(protocol.BanFrame(user))}
	})
}

// Unban lifts a ban.
func (s *Store) Unban(ctx context.Context, id, user string) error {
	return s.runBans(ctx, "unban", id, s.scripts.unban, func(keys) []string { return []string{user} })
}

// runBans runs a script on a paper's meta hash and bans set.
func (s *Store) runBans(ctx context.Context, what, id string, script *rueidis.Lua, args func(keys) []string) error {
	if !paper.ValidID(id) {
		return fmt.Errorf("%s %q: %w", what, id, domain.ErrNotFound)
	}
	k := s.keys(id)
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	_, err := s.acked(ctx, what, id, script, []string{k.meta, k.bans}, args(k))
	return err
}

// Banned reports whether user is banned from the paper.
func (s *Store) Banned(ctx context.Context, id, user string) (bool, error) {
	if !paper.ValidID(id) {
		return false, nil
	}
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	banned, err := s.cmd.Do(ctx, s.cmd.B().Sismember().Key(s.keys(id).bans).Member(user).Build()).AsBool()
	if err != nil {
		return false, mapErr("banned", id, err)
	}
	return banned, nil
}

// Bans lists the paper's banned users.
func (s *Store) Bans(ctx context.Context, id string) ([]string, error) {
	if !paper.ValidID(id) {
		return nil, nil
	}
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	bans, err := s.cmd.Do(ctx, s.cmd.B().Smembers().Key(s.keys(id).bans).Build()).AsStrSlice()
	if err != nil {
		return nil, mapErr("bans", id, err)
	}
	return bans, nil
}

// Delete removes all of a paper's keys and publishes protocol.DeletedFrame.
func (s *Store) Delete(ctx context.Context, id string) error {
	if !paper.ValidID(id) {
		return fmt.Errorf("delete %q: %w", id, domain.ErrNotFound)
	}
	k := s.keys(id)
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	_, err := s.acked(ctx, "delete", id, s.scripts.delete,
		[]string{k.meta, k.fields, k.elems, k.hist, k.authors, k.bans, k.pres, k.presLeave, k.presExp},
		[]string{s.pubCmd, k.channel, string(protocol.DeletedFrame())})
	if err != nil {
		return err
	}
	return s.unqueueArchive(ctx, id)
}

// RenewEpoch gives the paper a fresh epoch with renew.lua, if its epoch is
// still ifEpoch, and publishes protocol.EpochFrame in the same step.
func (s *Store) RenewEpoch(ctx context.Context, id, ifEpoch string) (string, error) {
	if !paper.ValidID(id) {
		return "", fmt.Errorf("renew epoch %q: %w", id, domain.ErrNotFound)
	}
	epoch := usecase.NewEpoch()
	k := s.keys(id)
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	res, err := s.acked(ctx, "renew epoch", id, s.scripts.renew, []string{k.meta},
		[]string{ifEpoch, epoch, s.pubCmd, k.channel, string(protocol.EpochFrame(epoch))})
	if err != nil {
		return "", err
	}
	got, err := res.ToString()
	if err != nil {
		return "", mapErr("renew epoch", id, err)
	}
	return got, nil
}

// History returns the frames with seq in (since, current] and the current
// seq. ErrHistoryGone when epoch is not the paper's or the history was
// trimmed past since+1; ErrInvalid when since is ahead of the current seq.
func (s *Store) History(ctx context.Context, id, epoch string, since uint64) ([]domain.Event, uint64, error) {
	if !paper.ValidID(id) {
		return nil, 0, fmt.Errorf("history %q: %w", id, domain.ErrNotFound)
	}
	k := s.keys(id)
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	parts, err := s.scripts.history.Exec(ctx, s.cmd, []string{k.meta, k.hist},
		[]string{epoch, strconv.FormatUint(since, 10), s.histSize}).ToArray()
	if err != nil {
		return nil, 0, mapErr("history", id, err)
	}
	if len(parts) != 3 {
		return nil, 0, fmt.Errorf("history %s: unexpected reply of %d parts", id, len(parts))
	}
	verdict, _ := parts[0].ToString()
	cur64, _ := parts[1].AsInt64()
	cur := uint64(cur64)
	switch verdict {
	case "ok":
	case "epoch":
		return nil, cur, fmt.Errorf("history %s: epoch %q is not the paper's: %w", id, epoch, usecase.ErrHistoryGone)
	case "trimmed":
		return nil, cur, fmt.Errorf("history %s: since %d is trimmed: %w", id, since, usecase.ErrHistoryGone)
	case "ahead":
		return nil, cur, fmt.Errorf("history %s: %w: since %d is ahead of seq %d", id, domain.ErrInvalid, since, cur)
	default:
		return nil, 0, fmt.Errorf("history %s: unexpected verdict %q", id, verdict)
	}
	frames, _ := parts[2].ToArray()
	events := make([]domain.Event, 0, len(frames))
	for _, f := range frames {
		str, err := f.ToString()
		if err != nil {
			return nil, 0, fmt.Errorf("history %s: %w", id, err)
		}
		frame := []byte(str)
		kind, seq, ok := protocol.EventHeader(frame)
		if !ok {
			return nil, 0, fmt.Errorf("history %s: unreadable frame %q", id, str)
		}
		events = append(events, domain.Event{Kind: kind, Seq: seq, Frame: frame})
	}
	if want := cur - since; uint64(len(events)) != want {
		return nil, 0, fmt.Errorf("history %s: got %d frames for (%d, %d]", id, len(events), since, cur)
	}
	return events, cur, nil
}

// errClosed is returned by calls on a closed store.
var errClosed = errors.New("redis store is closed")
