-- touch.lua: a join on an open paper restarts its idle clock (retention,
-- see apply.lua): when less than a window is left, the deadline kept in
-- meta and every data key's expiry move to 1.5 windows from now. A final
-- paper keeps no idle clock (finalize.lua): it is left alone.
--
-- KEYS[1] meta hash   KEYS[2..6] fields, elements, history, authors, bans
-- ARGV[1] idle window (ms; 0: none)   ARGV[2] open status
local m = redis.call('HMGET', KEYS[1], 'status', 'exp')
if not m[1] then
  return redis.error_reply('PAPERCAST not_found no such paper')
end
local window = tonumber(ARGV[1])
if m[1] ~= ARGV[2] or window <= 0 then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local exp = tonumber(m[2])
if exp and exp - now >= window then return 0 end
exp = now + math.floor(window * 3 / 2)
redis.call('HSET', KEYS[1], 'exp', exp)
for i = 1, #KEYS do redis.call('PEXPIREAT', KEYS[i], exp) end
return 1
