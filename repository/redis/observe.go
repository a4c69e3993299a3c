package redis

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"strings"
	"time"

	"github.com/redis/rueidis"
)

// Observer receives Redis timings for metrics. Both methods must be cheap
// and safe for concurrent use.
type Observer interface {
	// ObserveRedis is called after each command with its name (a script's
	// name for EVALSHA/EVAL), its duration and its error (nil replies are
	// not errors).
	ObserveRedis(command string, d time.Duration, err error)
	// Resubscribed is called each time a broken subscription is restored.
	Resubscribed()
}

// observedClient times every Do on the command client. Scripts are named by
// their SHA-1 so the metric says "apply", not "EVALSHA".
type observedClient struct {
	rueidis.Client
	obs   Observer
	names map[string]string // script sha1 -> name
}

func newObservedClient(c rueidis.Client, obs Observer, apply luaSource) rueidis.Client {
	names := map[string]string{apply.sha: "apply"}
	for name, src := range map[string]string{
		"touch": touchSrc, "finalize": finalizeSrc, "create": createSrc, "delete": deleteSrc,
		"snapshot": snapshotSrc, "history": historySrc, "presence_set": presenceSetSrc,
		"presence_remove": presenceRemoveSrc, "presence_touch": presenceTouchSrc, "presence_list": presenceListSrc,
		"renew": renewSrc,
	} {
		sum := sha1.Sum([]byte(src))
		names[hex.EncodeToString(sum[:])] = name
	}
	return &observedClient{Client: c, obs: obs, names: names}
}

func (o *observedClient) name(cmd rueidis.Completed) string {
	args := cmd.Commands()
	if len(args) == 0 {
		return "unknown"
	}
	name := strings.ToLower(args[0])
	if (name == "evalsha" || name == "evalsha_ro") && len(args) > 1 {
		if n, ok := o.names[args[1]]; ok {
			return n
		}
	}
	if (name == "eval" || name == "eval_ro") && len(args) > 1 {
		sum := sha1.Sum([]byte(args[1]))
		if n, ok := o.names[hex.EncodeToString(sum[:])]; ok {
			return n
		}
	}
	return name
}

// Do implements rueidis.Client.
func (o *observedClient) Do(ctx context.Context, cmd rueidis.Completed) rueidis.RedisResult {
	name := o.name(cmd) // before Do: the command is recycled after it
	start := time.Now()
	res := o.Client.Do(ctx, cmd)
	o.observe(name, time.Since(start), res)
	return res
}

// DoMulti implements rueidis.Client. Each command of the batch is counted
// under its own name, with the batch's duration: the time until its reply
// was in the caller's hands.
func (o *observedClient) DoMulti(ctx context.Context, cmds ...rueidis.Completed) []rueidis.RedisResult {
	names := make([]string, len(cmds))
	for i, cmd := range cmds {
		names[i] = o.name(cmd)
	}
	start := time.Now()
	res := o.Client.DoMulti(ctx, cmds...)
	d := time.Since(start)
	for i, r := range res {
		o.observe(names[i], d, r)
	}
	return res
}

func (o *observedClient) observe(name string, d time.Duration, res rueidis.RedisResult) {
	err := res.Error()
	if rueidis.IsRedisNil(err) {
		err = nil
	}
	if re, ok := rueidis.IsRedisErr(err); ok && re.IsNoScript() {
		// The first EVALSHA after a (re)start: rueidis falls back to EVAL,
		// which is what gets counted.
		return
	}
	o.obs.ObserveRedis(name, d, err)
}
