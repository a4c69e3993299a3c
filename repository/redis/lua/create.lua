-- create.lua: store a new paper's metadata unless the id exists. Leftovers
-- of an earlier paper with this id (there should be none) are removed, so
-- a new epoch never comes with old elements or history. With retention on,
-- the paper expires 1.5 idle windows from now unless touched (see
-- apply.lua).
--
-- KEYS[1] meta hash   KEYS[2..] the paper's other data keys (fields,
-- elements, history, authors, bans)
-- ARGV[1] idle window (ms; 0: none)   ARGV[2..] metadata field, value pairs
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.error_reply('PAPERCAST conflict a paper with this id exists')
end
redis.call('DEL', unpack(KEYS, 2))
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
local window = tonumber(ARGV[1])
if window > 0 then
  local t = redis.call('TIME')
  local exp = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + math.floor(window * 3 / 2)
  redis.call('HSET', KEYS[1], 'exp', exp)
  redis.call('PEXPIREAT', KEYS[1], exp)
end
return 1
