-- archive_claim.lua: lease up to n papers of the to-archive set that are
-- due, oldest first: their score moves to now + lease, so no other claim
-- returns them until the lease runs out (then any replica takes them).
--
-- KEYS[1] the to-archive zset (paper id -> due, unix ms)
-- ARGV[1] now (unix ms)   ARGV[2] lease (ms)   ARGV[3] n
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local until_ms = tonumber(ARGV[1]) + tonumber(ARGV[2])
for _, id in ipairs(ids) do
  redis.call('ZADD', KEYS[1], 'XX', until_ms, id)
end
return ids
