package redis

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"

	"github.com/redis/rueidis"
)

// A write a client is told succeeded ("acked") must survive what
// Options.WaitReplicas asks for. Redis replicates asynchronously: a master
// answers a script before any replica has it, so a failover can promote a
// replica that lacks the last acked writes. With WaitReplicas > 0 every
// write that takes a seq runs through acked, which sends the script and
// `WAIT n timeout` together.
//
// Why one DoMulti is enough: WAIT counts the replicas that have everything
// written on the connection it is sent on. rueidis sends a batch holding a
// blocking command (WAIT is tagged blocking) on one dedicated connection
// from its blocking pool, in order (mux.blockingMulti: pool.Acquire, then
// wire.DoMulti), so the WAIT follows exactly our script on that connection.
// The pool is capped (maxWaitConns) because each write in flight holds a
// connection while WAIT blocks. In cluster mode, rueidis sends a keyless
// command of a batch to the node of the batch's keyed one.

// luaSource is a script's text and SHA-1, for EVALSHA in a batch.
type luaSource struct{ src, sha string }

func newLuaSource(src string) luaSource {
	sum := sha1.Sum([]byte(src))
	return luaSource{src: src, sha: hex.EncodeToString(sum[:])}
}

// ackedSources are the scripts acked may run, by their rueidis.Lua.
// apply.lua is not among them: its text is built per Store, and
// evalApply sends it through evalAcked.
func ackedSources(sc scripts) map[*rueidis.Lua]luaSource {
	return map[*rueidis.Lua]luaSource{
		sc.finalize: newLuaSource(finalizeSrc),
		sc.create:   newLuaSource(createSrc),
		sc.delete:   newLuaSource(deleteSrc),
		sc.policy:   newLuaSource(policySrc),
		sc.ban:      newLuaSource(banSrc),
		sc.unban:    newLuaSource(unbanSrc),
		sc.renew:    newLuaSource(renewSrc),
	}
}

// acked runs a write script on the paper id (what names the call in
// errors) and returns its reply. A refusal of the script or a Redis that
// cannot be reached gives an error wrapping a domain error (mapErr). With
// Options.WaitReplicas > 0 the reply only counts once WAIT confirmed that
// many replicas have the write; fewer within Options.WaitTimeout gives
// ErrUnavailable, and the write may still have landed (on the master, and
// on the replicas later): the caller cannot tell, as with any timeout.
// ctx must already be bounded (opCtx).
func (s *Store) acked(ctx context.Context, what, id string, script *rueidis.Lua, keys, args []string) (rueidis.RedisResult, error) {
	var res rueidis.RedisResult
	if s.opts.WaitReplicas == 0 {
		res = script.Exec(ctx, s.cmd, keys, args)
	} else if src, ok := s.ackedSrc[script]; ok {
		res = s.evalAcked(ctx, src, keys, args)
	} else {
		return rueidis.RedisResult{}, fmt.Errorf("%s %s: script not registered for acked writes", what, id)
	}
	if err := res.Error(); err != nil {
		return res, mapErr(what, id, err)
	}
	return res, nil
}

// evalAcked runs the script src with EVALSHA (EVAL when Redis does not
// have it cached) and, with Options.WaitReplicas > 0, WAIT after it on the
// same connection. Fewer replicas than asked within the wait timeout give
// a result whose error (not a Redis reply: mapErr makes it ErrUnavailable)
// says so. Any write script may run through it, so a path with its own
// script (a batched apply) is acked the same way.
func (s *Store) evalAcked(ctx context.Context, src luaSource, keys, args []string) rueidis.RedisResult {
	evalsha := func() rueidis.Completed {
		return s.cmd.B().Evalsha().Sha1(src.sha).Numkeys(int64(len(keys))).Key(keys...).Arg(args...).Build()
	}
	eval := func() rueidis.Completed {
		return s.cmd.B().Eval().Script(src.src).Numkeys(int64(len(keys))).Key(keys...).Arg(args...).Build()
	}
	noScript := func(r rueidis.RedisResult) bool {
		rerr, ok := rueidis.IsRedisErr(r.Error())
		return ok && rerr.IsNoScript()
	}
	if s.opts.WaitReplicas == 0 {
		res := s.cmd.Do(ctx, evalsha())
		if noScript(res) {
			res = s.cmd.Do(ctx, eval())
		}
		return res
	}
	n := int64(s.opts.WaitReplicas)
	wait := func() rueidis.Completed {
		return s.cmd.B().Wait().Numreplicas(n).Timeout(s.opts.WaitTimeout.Milliseconds()).Build()
	}
	res := s.cmd.DoMulti(ctx, evalsha(), wait())
	if noScript(res[0]) {
		// The script cache is empty (a restart, a promoted replica): the
		// script did not run, so sending its text is no second write.
		res = s.cmd.DoMulti(ctx, eval(), wait())
	}
	if res[0].Error() != nil {
		return res[0]
	}
	got, err := res[1].AsInt64()
	if err != nil {
		return rueidis.NewErrorResult(fmt.Errorf("waiting for %d replicas (the write may still have landed): %w", n, err))
	}
	if got < n {
		return rueidis.NewErrorResult(fmt.Errorf("%d of %d replicas acknowledged within %v (the write may still have landed)", got, n, s.opts.WaitTimeout))
	}
	return res[0]
}
