package redis

import (
	_ "embed"

	"github.com/redis/rueidis"
)

// The Lua scripts live beside this file. Each runs as one atomic step inside
// Redis and touches only keys of one paper (one hash tag, one cluster slot).
var (
	//go:embed lua/apply.lua
	applySrc string
	//go:embed lua/finalize.lua
	finalizeSrc string
	//go:embed lua/create.lua
	createSrc string
	//go:embed lua/delete.lua
	deleteSrc string
	//go:embed lua/snapshot.lua
	snapshotSrc string
	//go:embed lua/history.lua
	historySrc string
	//go:embed lua/presence_set.lua
	presenceSetSrc string
	//go:embed lua/presence_remove.lua
	presenceRemoveSrc string
	//go:embed lua/presence_touch.lua
	presenceTouchSrc string
	//go:embed lua/presence_list.lua
	presenceListSrc string
	//go:embed lua/policy.lua
	policySrc string
	//go:embed lua/ban.lua
	banSrc string
	//go:embed lua/unban.lua
	unbanSrc string
	//go:embed lua/touch.lua
	touchSrc string
	//go:embed lua/renew.lua
	renewSrc string
	//go:embed lua/archive_claim.lua
	archiveClaimSrc string
	//go:embed lua/archive_done.lua
	archiveDoneSrc string
)

// apply.lua is not among them: its constants are compiled in per Store
// (apply.go), and it runs through Store.evalApply.
//
// scripts are per Store (a rueidis.Lua caches its SHA-1 state) and run with
// EVALSHA, falling back to EVAL after a Redis restart emptied the script
// cache. None is retried by rueidis: a write that timed out may have landed,
// and running it twice would apply an op twice.
type scripts struct {
	finalize, create, delete, snapshot, history              *rueidis.Lua
	presenceSet, presenceRemove, presenceTouch, presenceList *rueidis.Lua
	policy, ban, unban, touch, renew                         *rueidis.Lua
	archiveClaim, archiveDone                                *rueidis.Lua
}

func newScripts() scripts {
	return scripts{
		finalize:       rueidis.NewLuaScript(finalizeSrc),
		create:         rueidis.NewLuaScript(createSrc),
		delete:         rueidis.NewLuaScript(deleteSrc),
		snapshot:       rueidis.NewLuaScriptReadOnly(snapshotSrc),
		history:        rueidis.NewLuaScriptReadOnly(historySrc),
		presenceSet:    rueidis.NewLuaScript(presenceSetSrc),
		presenceRemove: rueidis.NewLuaScript(presenceRemoveSrc),
		presenceTouch:  rueidis.NewLuaScript(presenceTouchSrc),
		presenceList:   rueidis.NewLuaScriptReadOnly(presenceListSrc),
		policy:         rueidis.NewLuaScript(policySrc),
		ban:            rueidis.NewLuaScript(banSrc),
		unban:          rueidis.NewLuaScript(unbanSrc),
		touch:          rueidis.NewLuaScript(touchSrc),
		renew:          rueidis.NewLuaScript(renewSrc),
		archiveClaim:   rueidis.NewLuaScript(archiveClaimSrc),
		archiveDone:    rueidis.NewLuaScript(archiveDoneSrc),
	}
}
