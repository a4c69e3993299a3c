-- presence_touch.lua: one paper's share of a heartbeat. Re-arm the expiry of
-- the given sessions' entries (only those still stored), then remove the
-- expired entries of the paper and publish the stored leave frame of each.
-- Returns the given sessions that had no entry, for the caller to store
-- again.
--
-- KEYS as presence_set.lua
-- ARGV[1] TTL ms   ARGV[2] PUBLISH or SPUBLISH   ARGV[3] channel
-- ARGV[4..] session ids to refresh
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[1])

local missing = {}
local zadd = {}
for i = 4, #ARGV do
  if redis.call('ZSCORE', KEYS[3], ARGV[i]) then
    zadd[#zadd + 1] = now + ttl
    zadd[#zadd + 1] = ARGV[i]
    if #zadd >= 1000 then
      redis.call('ZADD', KEYS[3], 'XX', unpack(zadd))
      zadd = {}
    end
  else
    missing[#missing + 1] = ARGV[i]
  end
end
if #zadd > 0 then redis.call('ZADD', KEYS[3], 'XX', unpack(zadd)) end

-- Bounded work per call: a backlog is drained by the next touches.
local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, 500)
if #expired > 0 then
  local leaves = redis.call('HMGET', KEYS[2], unpack(expired))
  redis.call('HDEL', KEYS[1], unpack(expired))
  redis.call('HDEL', KEYS[2], unpack(expired))
  redis.call('ZREM', KEYS[3], unpack(expired))
  for i = 1, #expired do
    if leaves[i] then redis.call(ARGV[2], ARGV[3], leaves[i]) end
  end
end
if redis.call('EXISTS', KEYS[3]) == 1 then
  for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ttl) end
end
return missing
