-- snapshot.lua: a paper's metadata, element records, fields and authors read
-- in one atomic step, so they are consistent with the metadata's seq.
--
-- KEYS[1] meta hash   KEYS[2] field hash   KEYS[3] element hash   KEYS[4] author hash
return {
  redis.call('HGETALL', KEYS[1]),
  redis.call('HGETALL', KEYS[3]),
  redis.call('HGETALL', KEYS[2]),
  redis.call('HGETALL', KEYS[4]),
}
