-- presence_remove.lua: delete one session's entry and publish its stored
-- leave frame if the entry was there.
--
-- KEYS as presence_set.lua
-- ARGV[1] session   ARGV[2] PUBLISH or SPUBLISH   ARGV[3] channel
local leave = redis.call('HGET', KEYS[2], ARGV[1])
local n = redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
if n == 1 and leave then
  redis.call(ARGV[2], ARGV[3], leave)
end
return n
