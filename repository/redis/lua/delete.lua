-- delete.lua: remove every key of a paper and publish the deleted frame.
--
-- KEYS: all of the paper's keys, meta first
-- ARGV[1] PUBLISH or SPUBLISH   ARGV[2] channel   ARGV[3] frame
if redis.call('EXISTS', KEYS[1]) == 0 then
  return redis.error_reply('PAPERCAST not_found no such paper')
end
redis.call('DEL', unpack(KEYS))
redis.call(ARGV[1], ARGV[2], ARGV[3])
return 1
