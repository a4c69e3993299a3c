-- ban.lua: add a user to a paper's bans and publish the ban frame, in one
-- step: apply.lua refuses the user's ops from this step on, and every
-- replica's room closes the user's sessions when the frame arrives. meta
-- "nbans" counts the bans (apply.lua skips the check while it is 0; a
-- paper stored before it was kept has none until apply.lua counts them),
-- and the set shares the paper's idle expiry.
--
-- KEYS[1] meta hash   KEYS[2] bans set
-- ARGV[1] PUBLISH or SPUBLISH   ARGV[2] channel   ARGV[3] user   ARGV[4] frame
local m = redis.call('HMGET', KEYS[1], 'status', 'nbans', 'exp')
if not m[1] then
  return redis.error_reply('PAPERCAST not_found no such paper')
end
if redis.call('SADD', KEYS[2], ARGV[3]) == 1 and m[2] then
  redis.call('HINCRBY', KEYS[1], 'nbans', 1)
end
if m[3] then
  redis.call('PEXPIREAT', KEYS[2], m[3])
end
redis.call(ARGV[1], ARGV[2], ARGV[4])
return 1
