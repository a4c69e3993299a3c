-- unban.lua: lift a ban of an existing paper (and count it, see ban.lua).
--
-- KEYS[1] meta hash   KEYS[2] bans set
-- ARGV[1] user
local m = redis.call('HMGET', KEYS[1], 'status', 'nbans')
if not m[1] then
  return redis.error_reply('PAPERCAST not_found no such paper')
end
if redis.call('SREM', KEYS[2], ARGV[1]) == 1 and m[2] then
  redis.call('HINCRBY', KEYS[1], 'nbans', -1)
end
return 1
