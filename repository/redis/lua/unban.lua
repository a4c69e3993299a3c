-- unban.lua: lift a ban of an existing paper.
--
-- KEYS[1] meta hash   KEYS[2] bans set
-- ARGV[1] user
if redis.call('EXISTS', KEYS[1]) == 0 then
  return redis.error_reply('PAPERCAST not_found no such paper')
end
redis.call('SREM', KEYS[2], ARGV[1])
return 1
