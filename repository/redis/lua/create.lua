-- create.lua: store a new paper's metadata unless the id exists. Leftovers
-- of an earlier paper with this id (there should be none) are removed, so
-- a new epoch never comes with old elements or history.
--
-- KEYS[1] meta hash   KEYS[2..] the paper's other data keys (fields,
-- elements, history, authors, bans)
-- ARGV: metadata field, value pairs
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.error_reply('PAPERCAST conflict a paper with this id exists')
end
redis.call('DEL', unpack(KEYS, 2))
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
