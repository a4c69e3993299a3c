package app

import (
	"github.com/papercast/papercast/delivery/ws"
	"github.com/papercast/papercast/repository/memory"
	redisstore "github.com/papercast/papercast/repository/redis"
	"github.com/papercast/papercast/usecase"
)

// The config-to-options mappings, for TestDefaultsAreThePackagesDefaults.

func HubOptions(c Config) usecase.HubOptions   { return c.hubOptions() }
func WSOptions(c Config) ws.Options            { return c.wsOptions() }
func RedisOptions(c Config) redisstore.Options { return c.redisOptions() }
func MemoryOptions(c Config) memory.Options    { return c.memoryOptions() }
