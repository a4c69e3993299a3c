package redis

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"

	"github.com/redis/rueidis"

	"github.com/papercast/papercast/domain"
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
func ackedSources(sc scripts) map[*rueidis.Lua]luaSource {
	return map[*rueidis.Lua]luaSource{
		sc.apply:    newLuaSource(applySrc),
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
	if s.opts.WaitReplicas == 0 {
		res := script.Exec(ctx, s.cmd, keys, args)
		if err := res.Error(); err != nil {
			return res, mapErr(what, id, err)
		}
		return res, nil
	}
	src, ok := s.ackedSrc[script]
	if !ok {
		return rueidis.RedisResult{}, fmt.Errorf("%s %s: script not registered for acked writes", what, id)
	}
	n := int64(s.opts.WaitReplicas)
	wait := func() rueidis.Completed {
		return s.cmd.B().Wait().Numreplicas(n).Timeout(s.opts.WaitTimeout.Milliseconds()).Build()
	}
	res := s.cmd.DoMulti(ctx,
		s.cmd.B().Evalsha().Sha1(src.sha).Numkeys(int64(len(keys))).Key(keys...).Arg(args...).Build(),
		wait())
	if rerr, ok := rueidis.IsRedisErr(res[0].Error()); ok && rerr.IsNoScript() {
		// The script cache is empty (a restart, a promoted replica): the
		// script did not run, so sending its text is no second write.
		res = s.cmd.DoMulti(ctx,
			s.cmd.B().Eval().Script(src.src).Numkeys(int64(len(keys))).Key(keys...).Arg(args...).Build(),
			wait())
	}
	if err := res[0].Error(); err != nil {
		return res[0], mapErr(what, id, err)
	}
	got, err := res[1].AsInt64()
	if err != nil {
		return res[0], fmt.Errorf("%s %s: %w: waiting for replicas (the write may still have landed): %w", what, id, domain.ErrUnavailable, err)
	}
	if got < n {
		return res[0], fmt.Errorf("%s %s: %w: %d of %d replicas acknowledged within %v (the write may still have landed)",
			what, id, domain.ErrUnavailable, got, n, s.opts.WaitTimeout)
	}
	return res[0], nil
}
