-- apply.lua: one op on one paper, atomically: check the paper is open, the
-- op is not older than one already applied for its session (usecase.OpOrder),
-- the editor is not banned and may change the element (the edit policy),
-- and the merge stays within the limits (exactly paper.Limits.CheckMerge),
-- merge the fields, record the author of a new element, take the next seq,
-- append the event frame to the bounded history and publish it. A rejected
-- op writes nothing. The policy and the bans are read here, in the same
-- step as the write: a policy change or a ban is wholly before or after.
--
-- Field values are stored and published byte for byte: never cjson (it
-- rewrites numbers and turns [] into {}).
--
-- KEYS[1] meta hash      KEYS[2] field hash ("<elem>:<field>" -> JSON value)
-- KEYS[3] element hash   ("<elem>" -> "<order> <size> <field> <field>...")
-- KEYS[4] history list
-- KEYS[5] author hash    ("<elem>" -> "<createdAt> <#user> <user><name>")
-- KEYS[6] bans set       (banned user ids)
-- KEYS[7] the session's order string (its last applied N); absent: no check
-- ARGV[1] history size   ARGV[2] PUBLISH or SPUBLISH   ARGV[3] channel
-- ARGV[4] frame prefix (protocol.OpFramePrefix)   ARGV[5] op body (protocol.OpBody)
-- ARGV[6] "u" (upsert) or "d" (delete)   ARGV[7] element id
-- ARGV[8] max fields   ARGV[9] max element bytes   ARGV[10] max elements
-- ARGV[11] open status
-- ARGV[12] the op's N in its session   ARGV[13] order memory (ms)
-- ARGV[14] editor's user   ARGV[15] editor's name   ARGV[16] "1" for an owner session
-- ARGV[17] createdAt of a new element (unix seconds)   ARGV[18] the "authors" policy
-- ARGV[19..] field name, JSON value pairs (upsert)
local meta, fields, elems, hist, authors, bans, order = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local user = ARGV[14]

-- Every op kind has its own branch below: a kind added in Go but not here
-- must fail, not be taken for another kind.
if ARGV[6] ~= 'u' and ARGV[6] ~= 'd' then
  return redis.error_reply('PAPERCAST unsupported unknown op kind ' .. ARGV[6])
end

local status = redis.call('HGET', meta, 'status')
if not status then
  return redis.error_reply('PAPERCAST not_found no such paper')
end
if status ~= ARGV[11] then
  return redis.error_reply('PAPERCAST finalized the paper is final')
end

-- An op that timed out for its caller may still arrive here, after the
-- same session's next op (which can travel on another connection): refuse
-- it rather than let older text overwrite newer.
if order then
  local last = redis.call('GET', order)
  if last and tonumber(last) >= tonumber(ARGV[12]) then
    return redis.error_reply('PAPERCAST stale a later op of this session was applied first')
  end
end

if redis.call('SISMEMBER', bans, user) == 1 then
  return redis.error_reply('PAPERCAST banned this user is banned from the paper')
end

local id = ARGV[7]
local cur = redis.call('HGET', elems, id)

-- Under the "authors" policy only an element's author, or an owner
-- session, may change or delete it. A paper without a policy (stored before
-- there were policies) is open.
if cur and ARGV[16] ~= '1' and redis.call('HGET', meta, 'edit') == ARGV[18] then
  local by = ''
  local rec = redis.call('HGET', authors, id)
  if rec then
    local n, rest = string.match(rec, '^%-?%d+ (%d+) (.*)$')
    by = string.sub(rest, 1, tonumber(n))
  end
  if by ~= user then
    return redis.error_reply('PAPERCAST forbidden only its author or an owner may change this element')
  end
end

if ARGV[6] == 'd' then
  if not cur then
    return redis.error_reply('PAPERCAST not_found no such element')
  end
  local del = {}
  local i = 0
  for w in string.gmatch(cur, '%S+') do
    i = i + 1
    if i > 2 then del[#del + 1] = id .. ':' .. w end
  end
  if #del > 0 then redis.call('HDEL', fields, unpack(del)) end
  redis.call('HDEL', elems, id)
  redis.call('HDEL', authors, id)
else
  local order, size, count = nil, 0, 0
  local has = {}
  if cur then
    local i = 0
    for w in string.gmatch(cur, '%S+') do
      i = i + 1
      if i == 1 then
        order = w
      elseif i == 2 then
        size = tonumber(w)
      else
        has[w] = true
        count = count + 1
      end
    end
  elseif redis.call('HLEN', elems) >= tonumber(ARGV[10]) then
    return redis.error_reply('PAPERCAST too_large a paper holds at most ' .. ARGV[10] .. ' elements')
  end

  -- Count and size after the merge, as paper.Limits.CheckMerge counts them:
  -- a field's size is len(name) + len(JSON value); "null" removes it.
  local n = (#ARGV - 18) / 2
  local fk = {}
  for j = 1, n do
    local k, v = ARGV[17 + 2 * j], ARGV[18 + 2 * j]
    fk[j] = id .. ':' .. k
    if has[k] then
      count = count - 1
      size = size - #k - redis.call('HSTRLEN', fields, fk[j])
    end
    if v ~= 'null' then
      count = count + 1
      size = size + #k + #v
    end
  end
  if count > tonumber(ARGV[8]) then
    return redis.error_reply('PAPERCAST too_large at most ' .. ARGV[8] .. ' fields per element')
  end
  if size > tonumber(ARGV[9]) then
    return redis.error_reply('PAPERCAST too_large an element is at most ' .. ARGV[9] .. ' bytes')
  end

  local set, del = {}, {}
  for j = 1, n do
    local k, v = ARGV[17 + 2 * j], ARGV[18 + 2 * j]
    if v == 'null' then
      if has[k] then
        del[#del + 1] = fk[j]
        has[k] = nil
      end
    else
      set[#set + 1] = fk[j]
      set[#set + 1] = v
      has[k] = true
    end
  end
  if #set > 0 then redis.call('HSET', fields, unpack(set)) end
  if #del > 0 then redis.call('HDEL', fields, unpack(del)) end

  -- A new element (or one deleted and created again) goes to the end, and
  -- its creator is its author.
  if not order then
    order = redis.call('HINCRBY', meta, 'elems', 1)
    redis.call('HSET', authors, id, ARGV[17] .. ' ' .. #user .. ' ' .. user .. ARGV[15])
  end
  local rec = {order, size}
  for k in pairs(has) do rec[#rec + 1] = k end
  redis.call('HSET', elems, id, table.concat(rec, ' '))
end

if order then
  redis.call('SET', order, ARGV[12], 'PX', ARGV[13])
end
local seq = redis.call('HINCRBY', meta, 'seq', 1)
local frame = ARGV[4] .. seq .. ',' .. ARGV[5]
redis.call('RPUSH', hist, frame)
redis.call('LTRIM', hist, -tonumber(ARGV[1]), -1)
redis.call(ARGV[2], ARGV[3], frame)
return seq
