-- renew.lua: give a paper a fresh epoch, if its epoch is still the one the
-- caller saw, and publish the epoch frame, in one step. Returns the paper's
-- epoch afterwards (the caller's, when another replica renewed first).
--
-- KEYS[1] meta hash
-- ARGV[1] the epoch the caller saw   ARGV[2] the new epoch
-- ARGV[3] PUBLISH or SPUBLISH   ARGV[4] channel   ARGV[5] frame
local cur = redis.call('HGET', KEYS[1], 'epoch')
if not cur then
  return redis.error_reply('PAPERCAST not_found no such paper')
end
if cur ~= ARGV[1] then
  return cur
end
redis.call('HSET', KEYS[1], 'epoch', ARGV[2])
redis.call(ARGV[3], ARGV[4], ARGV[5])
return ARGV[2]
