-- presence_set.lua: store one session's presence entry and its ready-made
-- leave frame, (re)arm its expiry and publish the presence frame.
--
-- Redis 7.0 has no per-field TTL, so each entry's expiry (Redis clock, ms)
-- lives in a sorted set; the keys themselves expire one TTL after the last
-- write, so a paper every replica forgot leaves nothing behind.
--
-- KEYS[1] entries hash (session -> JSON entry)   KEYS[2] leave frames hash
-- KEYS[3] expiry zset (session -> unix ms)
-- ARGV[1] session   ARGV[2] entry   ARGV[3] leave frame   ARGV[4] TTL ms
-- ARGV[5] PUBLISH or SPUBLISH   ARGV[6] channel   ARGV[7] frame
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[4])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[3], now + ttl, ARGV[1])
for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ttl) end
redis.call(ARGV[5], ARGV[6], ARGV[7])
return 1
