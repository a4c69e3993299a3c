-- ban.lua: add a user to a paper's bans and publish the ban frame, in one
-- step: apply.lua refuses the user's ops from this step on, and every
-- replica's room closes the user's sessions when the frame arrives.
--
-- KEYS[1] meta hash   KEYS[2] bans set
-- ARGV[1] PUBLISH or SPUBLISH   ARGV[2] channel   ARGV[3] user   ARGV[4] frame
if redis.call('EXISTS', KEYS[1]) == 0 then
  return redis.error_reply('PAPERCAST not_found no such paper')
end
redis.call('SADD', KEYS[2], ARGV[3])
redis.call(ARGV[1], ARGV[2], ARGV[4])
return 1
