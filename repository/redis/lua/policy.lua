-- policy.lua: set an open paper's edit policy. A change takes the next seq,
-- appends the policy frame to the history and publishes it, like
-- finalize.lua; setting the policy the paper has changes nothing. Returns the
-- metadata.
--
-- KEYS[1] meta hash   KEYS[2] history list
-- ARGV[1] history size   ARGV[2] PUBLISH or SPUBLISH   ARGV[3] channel
-- ARGV[4] frame prefix   ARGV[5] frame suffix (around the seq)
-- ARGV[6] the new policy   ARGV[7] open status
-- ARGV[8] the policy of a paper stored before there were policies ("open")
local meta, hist = KEYS[1], KEYS[2]
local m = redis.call('HMGET', meta, 'status', 'edit', 'exp')
if not m[1] then
  return redis.error_reply('PAPERCAST not_found no such paper')
end
if m[1] ~= ARGV[7] then
  return redis.error_reply('PAPERCAST finalized the paper is final')
end
if (m[2] or ARGV[8]) ~= ARGV[6] then
  redis.call('HSET', meta, 'edit', ARGV[6])
  local seq = redis.call('HINCRBY', meta, 'seq', 1)
  local frame = ARGV[4] .. seq .. ARGV[5]
  if redis.call('RPUSH', hist, frame) == 1 and m[3] then
    redis.call('PEXPIREAT', hist, m[3]) -- a new list: the paper's idle expiry
  end
  redis.call('LTRIM', hist, -tonumber(ARGV[1]), -1)
  redis.call(ARGV[2], ARGV[3], frame)
end
return redis.call('HGETALL', meta)
