-- history.lua: the event frames with seq in (since, current] and the current
-- seq, read in one atomic step. The history list holds the frames of the
-- last LLEN seqs, the newest being the current seq; apply.lua trims it only
-- every few ops, so it may hold more than the history size: only the last
-- ARGV[3] are served.
--
-- KEYS[1] meta hash   KEYS[2] history list
-- ARGV[1] epoch   ARGV[2] since   ARGV[3] history size
-- Returns {verdict, current seq, frames}: verdict is "ok", "epoch" (the
-- paper's data is another incarnation), "trimmed" (history no longer reaches
-- back) or "ahead" (since is past the current seq).
local m = redis.call('HMGET', KEYS[1], 'seq', 'epoch')
if not m[2] then
  return redis.error_reply('PAPERCAST not_found no such paper')
end
local cur = tonumber(m[1])
if m[2] ~= ARGV[1] then return {'epoch', cur, {}} end
local since = tonumber(ARGV[2])
if since > cur then return {'ahead', cur, {}} end
if since == cur then return {'ok', cur, {}} end
local n = redis.call('LLEN', KEYS[2])
local size = tonumber(ARGV[3])
if n > size then n = size end
if since + n < cur then return {'trimmed', cur, {}} end
-- the last cur - since frames
return {'ok', cur, redis.call('LRANGE', KEYS[2], since - cur, -1)}
