-- finalize.lua: mark an open paper final, take the next seq and publish the
-- finalized frame. Returns the new metadata. A final paper needs no resume
-- history (a resume falls back to the snapshot), so the history list is
-- dropped; and it leaves the idle clock (retention): its keys' expiry is
-- removed, the archive decides when it leaves Redis.
--
-- KEYS[1] meta hash   KEYS[2] history list
-- KEYS[3..6] its other data keys (fields, elements, authors, bans)
-- ARGV[1] history size (unused)   ARGV[2] PUBLISH or SPUBLISH   ARGV[3] channel
-- ARGV[4] frame prefix   ARGV[5] frame suffix (around the seq)
-- ARGV[6] finalizedAt (unix seconds)   ARGV[7] open status   ARGV[8] final status
-- The to-archive zset (issue 11), outside cluster mode: the LAST key, with
-- the last three ARGV "archive", due (unix ms), paper id. Recorded in the
-- same step as the status change, so no finalized paper is ever missing
-- from it. Absent in cluster mode, where the zset is in another slot and
-- the store adds the paper right after.
local meta, hist = KEYS[1], KEYS[2]
local status = redis.call('HGET', meta, 'status')
if not status then
  return redis.error_reply('PAPERCAST not_found no such paper')
end
if status ~= ARGV[7] then
  return redis.error_reply('PAPERCAST conflict the paper is already final')
end
redis.call('HSET', meta, 'status', ARGV[8], 'finalizedAt', ARGV[6])
redis.call('HDEL', meta, 'exp')
local seq = redis.call('HINCRBY', meta, 'seq', 1)
-- A final paper takes no more ops: its meta, field, element and author
-- hashes, which apply.lua keeps hashtables for fast lookups (its pad field
-- "~", see PADF there; meta "ht"), are written again without the pad, so
-- Redis stores them as compact listpacks where they fit.
if redis.call('HEXISTS', meta, 'ht') == 1 then
  for _, k in ipairs({meta, KEYS[3], KEYS[4], KEYS[5]}) do
    local all = redis.call('HGETALL', k)
    if #all > 0 then
      redis.call('DEL', k)
      local args = {}
      for i = 1, #all, 2 do
        local f = all[i]
        if f ~= '~' and f ~= 'ht' then
          args[#args + 1] = f
          args[#args + 1] = all[i + 1]
        end
        if #args >= 1000 or (i + 2 > #all and #args > 0) then
          redis.call('HSET', k, unpack(args))
          args = {}
        end
      end
    end
  end
end
local frame = ARGV[4] .. seq .. ARGV[5]
redis.call('DEL', hist)
redis.call('PERSIST', meta)
for i = 3, 6 do redis.call('PERSIST', KEYS[i]) end
redis.call(ARGV[2], ARGV[3], frame)
local nargs = #ARGV
if nargs >= 3 and ARGV[nargs - 2] == 'archive' then
  redis.call('ZADD', KEYS[#KEYS], ARGV[nargs - 1], ARGV[nargs])
end
return redis.call('HGETALL', meta)
