package redis

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/rueidis"

	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/paper"
	"github.com/papercast/papercast/protocol"
	"github.com/papercast/papercast/usecase"
)

// maxBatch is the most ops one apply.lua call carries.
const maxBatch = 64

// The meta, field, element and author hashes of a paper with padAt
// elements or more carry the field padField, whose value padValue is longer than Redis's
// default hash-max-listpack-value (64): Redis then keeps them hashtables,
// also when it loads them again (restart, full sync), so apply.lua's
// lookups hash instead of scanning a listpack of up to 512 entries
// (hash-max-listpack-entries; ~11-23k instructions per lookup at 100
// elements). padField is no element id (paper.ValidID) nor "<element>:<field>",
// and Snapshot skips it. Smaller papers stay listpacks
// (less memory; a short scan is cheap).
const (
	padField = "~"
	padValue = "papercast: this field keeps the hash a hashtable for fast lookups (see apply.lua)"
	padAt    = 8
)

// histSlack is how far past its size apply.lua lets a history list grow
// before it trims it: one LTRIM per histSlack ops instead of one per op.
// history.lua serves only the last size frames, so readers see no
// difference; the list costs up to ~3% more bytes.
func histSlack(size int) int { return size / 32 }

// newApplyScript is apply.lua with its constants compiled in: a call carries
// only what changes from op to op, and Redis parses no constant per call.
func newApplyScript(o Options, pubCmd string) luaSource {
	lua := func(s string) string { return strconv.Quote(s) } // ASCII only: Go's quoting is Lua's
	src := strings.NewReplacer(
		"@HIST@", strconv.Itoa(o.HistorySize),
		"@MAXF@", strconv.Itoa(o.Limits.MaxFields),
		"@MAXB@", strconv.Itoa(o.Limits.MaxElementBytes),
		"@MAXE@", strconv.Itoa(o.Limits.MaxElements),
		"@OPEN@", lua(domain.StatusOpen),
		"@AUTHORS@", lua(domain.EditAuthors),
		"@PUB@", lua(pubCmd),
		"@PREFIX@", lua(protocol.OpFramePrefix),
		"@ORDERMS@", lua(strconv.FormatInt(usecase.OpOrderMemory.Milliseconds(), 10)), // a string: passed on as is
		"@WINDOW@", strconv.FormatInt(o.OpenIdle.Milliseconds(), 10),
		"@PADF@", lua(padField),
		"@PADV@", lua(padValue),
		"@PADAT@", strconv.Itoa(padAt),
		"@SLACK@", strconv.Itoa(histSlack(o.HistorySize)),
	).Replace(applySrc)
	return newLuaSource(src)
}

// evalApply runs apply.lua once, as one command: EVALSHA, and EVAL when
// Redis's script cache lost it (a restart), with WAIT after it when
// Options.WaitReplicas asks (evalAcked). Every apply goes through here.
// The script is never retried: a call that timed out may have landed.
func (s *Store) evalApply(ctx context.Context, keys, args []string) rueidis.RedisResult {
	return s.evalAcked(ctx, s.applyLua, keys, args)
}

// luaOpKinds names each op kind for apply.lua, which refuses any other.
var luaOpKinds = map[string]string{domain.OpUpsert: "u", domain.OpDelete: "d"}

// applyReq is one op waiting for, or in, an apply.lua call.
type applyReq struct {
	ctx   context.Context
	kind  string
	op    domain.Op
	body  []byte
	order usecase.OpOrder
	ed    usecase.Editor
	done  chan applyRes // buffered: the batch never waits for its caller
}

type applyRes struct {
	seq uint64
	err error
}

// applyQueue holds the ops of one paper that arrived while a call for the
// paper was in flight. It is in Store.queues exactly while a call for the
// paper is in flight.
type applyQueue struct {
	pending []*applyReq
}

// Apply runs apply.lua: check, merge, next seq, history, publish. body is
// protocol.OpBody(op, author); the script puts the seq in front of it.
//
// Batching: the first op of a paper goes to Redis at once, in the caller's
// goroutine. Ops of the same paper arriving while that call is in flight
// queue, and go together (up to maxBatch) in the next call, made by a
// goroutine of the Store once the call in flight returns; it drains the
// queue and ends. So one call per paper is in flight from this Store at a
// time, ops keep their arrival order (per sender too), and nothing waits
// when nothing is queued.
//
// The order check is in the script because no connection order can give
// it: rueidis spreads commands over several connections per Redis
// (PipelineMultiplex), so an op queued behind a long pipeline can run after
// the same session's next op, and other replicas write the paper too.
func (s *Store) Apply(ctx context.Context, id string, op domain.Op, body []byte, order usecase.OpOrder, ed usecase.Editor) (uint64, error) {
	if !paper.ValidID(id) {
		return 0, fmt.Errorf("apply %q: %w: no such paper", id, domain.ErrNotFound)
	}
	kind, ok := luaOpKinds[op.Kind]
	if !ok {
		return 0, fmt.Errorf("apply %s: %w: unknown op %q", id, domain.ErrInvalid, op.Kind)
	}
	return s.apply(ctx, id, kind, op, body, order, ed)
}

func (s *Store) apply(ctx context.Context, id, kind string, op domain.Op, body []byte, order usecase.OpOrder, ed usecase.Editor) (uint64, error) {
	req := &applyReq{ctx: ctx, kind: kind, op: op, body: body, order: order, ed: ed}
	s.bmu.Lock()
	if s.bclosed {
		s.bmu.Unlock()
		return 0, mapErr("apply", id, errClosed)
	}
	if q, busy := s.queues[id]; busy {
		// A call is in flight: wait for the next one. The op is copied, as
		// the caller may give up and reuse its buffers before it is sent.
		req.body = bytes.Clone(body)
		req.op.Fields = make(map[string]json.RawMessage, len(op.Fields))
		for k, v := range op.Fields {
			req.op.Fields[k] = bytes.Clone(v)
		}
		req.done = make(chan applyRes, 1)
		q.pending = append(q.pending, req)
		s.bmu.Unlock()
		select {
		case r := <-req.done:
			return r.seq, r.err
		case <-ctx.Done():
			// It may still be applied (the batch may be in flight).
			return 0, mapErr("apply", id, ctx.Err())
		}
	}
	q := &applyQueue{}
	s.queues[id] = q
	s.bmu.Unlock()
	defer s.handOver(id, q) // even if the call panics: the queue must not stay
	octx, cancel := s.opCtx(ctx)
	defer cancel()
	r := s.runApply(octx, id, []*applyReq{req})[0]
	return r.seq, r.err
}

// handOver ends the caller's turn on a paper: with ops queued, a drain
// goroutine (owned by the Store, waited for by Close) takes over.
func (s *Store) handOver(id string, q *applyQueue) {
	s.bmu.Lock()
	defer s.bmu.Unlock()
	if len(q.pending) == 0 {
		delete(s.queues, id)
		return
	}
	if s.bclosed {
		s.failPendingLocked(id, q)
		return
	}
	s.drains.Add(1)
	go s.drain(id, q)
}

func (s *Store) failPendingLocked(id string, q *applyQueue) {
	for _, r := range q.pending {
		r.done <- applyRes{err: mapErr("apply", id, errClosed)}
	}
	q.pending = nil
	delete(s.queues, id)
}

// drain sends a paper's queued ops, up to maxBatch per call, until none
// are left or the Store closes.
func (s *Store) drain(id string, q *applyQueue) {
	defer s.drains.Done()
	for {
		s.bmu.Lock()
		if s.bclosed {
			s.failPendingLocked(id, q)
			s.bmu.Unlock()
			return
		}
		if len(q.pending) == 0 {
			delete(s.queues, id)
			s.bmu.Unlock()
			return
		}
		n := min(len(q.pending), maxBatch)
		batch := make([]*applyReq, 0, n)
		for _, r := range q.pending[:n] {
			if err := r.ctx.Err(); err != nil {
				r.done <- applyRes{err: mapErr("apply", id, err)} // never sent
				continue
			}
			batch = append(batch, r)
		}
		q.pending = append(q.pending[:0:0], q.pending[n:]...)
		s.bmu.Unlock()
		if len(batch) == 0 {
			continue
		}
		// The call serves several callers: none of them may cancel it for
		// the others; each caller stops waiting on its own context.
		ctx, cancel := s.opCtx(context.WithoutCancel(batch[0].ctx))
		res := s.runApply(ctx, id, batch)
		cancel()
		for i, r := range batch {
			r.done <- res[i]
		}
	}
}

// runApply sends reqs to apply.lua in one call and returns each one's
// result, in order.
func (s *Store) runApply(ctx context.Context, id string, reqs []*applyReq) []applyRes {
	k := s.keys(id)
	keys := append(make([]string, 0, 7), k.meta, k.fields, k.elems, k.hist, k.authors, k.bans)
	var orderKey map[string]int
	nargs := 3
	for _, r := range reqs {
		nargs += 10 + 2*len(r.op.Fields)
	}
	args := make([]string, 0, nargs)
	renewBy := time.Now().Add(s.opts.OpenIdle).UnixMilli() // see apply.lua: ARGV[2]
	args = append(args, k.channel, strconv.FormatInt(renewBy, 10), strconv.Itoa(len(reqs)))
	for _, r := range reqs {
		oi := "0"
		if sess := r.order.Session; sess != "" {
			i, ok := orderKey[sess]
			if !ok {
				if orderKey == nil {
					orderKey = make(map[string]int, len(reqs))
				}
				keys = append(keys, k.order+sess)
				i = len(keys) // Lua counts from 1
				orderKey[sess] = i
			}
			oi = strconv.Itoa(i)
		}
		owner := "0"
		if r.ed.Owner {
			owner = "1"
		}
		nf := 0
		if r.op.Kind == domain.OpUpsert {
			nf = len(r.op.Fields)
		}
		// BinaryString avoids copying body and values: they are only read
		// while the call runs, and nobody changes them meanwhile.
		args = append(args, r.kind, r.op.ID, oi, strconv.FormatUint(r.order.N, 10),
			r.ed.User, r.ed.Name, owner, strconv.FormatInt(r.ed.At.Unix(), 10),
			rueidis.BinaryString(r.body), strconv.Itoa(nf))
		if nf > 0 {
			for name, v := range r.op.Fields {
				args = append(args, name, rueidis.BinaryString(v))
			}
		}
	}
	out := make([]applyRes, len(reqs))
	res := s.evalApply(ctx, keys, args)
	if len(reqs) == 1 {
		m, err := res.ToMessage()
		out[0] = seqResult(id, m, err)
		return out
	}
	if err := res.Error(); err != nil {
		for i := range out {
			out[i].err = mapErr("apply", id, err)
		}
		return out
	}
	parts, err := res.ToArray()
	if err == nil && len(parts) != len(reqs) {
		err = fmt.Errorf("%d results for %d ops", len(parts), len(reqs))
	}
	if err != nil {
		for i := range out {
			out[i].err = fmt.Errorf("apply %s: unexpected reply: %w", id, err)
		}
		return out
	}
	for i := range parts {
		out[i] = seqResult(id, parts[i], nil)
	}
	return out
}

// seqResult reads one op's reply: its seq or its refusal.
func seqResult(id string, m rueidis.RedisMessage, err error) applyRes {
	if err == nil {
		err = m.Error()
	}
	if err != nil {
		return applyRes{err: mapErr("apply", id, err)}
	}
	seq, err := m.AsInt64()
	if err != nil {
		return applyRes{err: fmt.Errorf("apply %s: unexpected reply: %w", id, err)}
	}
	return applyRes{seq: uint64(seq)}
}
