-- archive_done.lua: a final paper is archived: mark it (meta archived=1)
-- and let every one of its keys expire after keep. Only the first call
-- sets the expiry, so a repeated Done never extends it. A paper that is
-- gone or not final is left alone (returns 0). The caller then drops the
-- paper from the to-archive set (another slot in cluster mode).
--
-- KEYS[1] meta hash   KEYS[2..] the paper's other keys
-- ARGV[1] keep (ms)   ARGV[2] final status
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= ARGV[2] then
  return 0
end
if redis.call('HGET', KEYS[1], 'archived') == '1' then
  return 1
end
redis.call('HSET', KEYS[1], 'archived', '1')
for i = 1, #KEYS do
  redis.call('PEXPIRE', KEYS[i], ARGV[1])
end
return 1
