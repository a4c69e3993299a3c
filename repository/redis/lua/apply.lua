-- apply.lua: up to 64 ops on one paper, in one atomic step, each checked
-- and applied on its own, in order: the paper is open, the op is not older
-- than one already applied for its session (usecase.OpOrder), the editor is
-- not banned and may change the element (the edit policy), and the merge
-- stays within the limits (exactly paper.Limits.CheckMerge); then the op's
-- fields are merged, the author of a new element recorded, the op takes
-- the next seq and its frame goes to the bounded history. One PUBLISH
-- carries every accepted op's frame (a single frame as it is, several as
-- one multi-frame message: see bus.go). A rejected op writes nothing and
-- rejects only itself. The policy and the bans are read here, in the same
-- step as the writes: a policy change or a ban is wholly before or after.
--
-- Field values are stored and published byte for byte: never cjson (it
-- rewrites numbers and turns [] into {}).
--
-- The constants in @...@ are put in by Go when the Store starts (store.go
-- applyScript), so a call carries only what changes.
local HIST, MAXF, MAXB, MAXE = @HIST@, @MAXF@, @MAXB@, @MAXE@
local OPEN, AUTHORS, PUB, PREFIX = @OPEN@, @AUTHORS@, @PUB@, @PREFIX@
local ORDERMS, WINDOW = @ORDERMS@, @WINDOW@
local PADF, PADV, PADAT, SLACK = @PADF@, @PADV@, @PADAT@, @SLACK@
--
-- KEYS[1] meta hash      KEYS[2] field hash ("<elem>:<field>" -> JSON value)
-- KEYS[3] element hash   ("<elem>" -> "<order> <size> <field>=<len>...|<user>";
--                        a record stored before sizes were kept lists bare
--                        "<field>" names: their sizes are read with HSTRLEN;
--                        one stored before it named its author's user id
--                        has no "|<user>": the author hash tells it)
-- KEYS[4] history list
-- KEYS[5] author hash    ("<elem>" -> "<createdAt> <#user> <user><name>")
-- KEYS[6] bans set       (banned user ids; meta "nbans" counts them)
--   Once a paper holds PADAT elements, the meta, field, element and author
--   hashes get a pad field (PADF, never an element id) whose value is longer than
--   Redis's hash-max-listpack-value: that keeps them hashtables (also
--   after a restart or a full sync), so each lookup hashes instead of
--   scanning a listpack of up to 512 entries (hash-max-listpack-entries).
--   Meta "ht" records it.
-- KEYS[7..] the sessions' order strings (their last applied N)
-- ARGV[1] channel   ARGV[2] the caller's clock (unix ms) plus the idle
-- window (for the idle deadline only, where a replica's clock skew of
-- seconds does not matter, and cheaper than TIME)   ARGV[3] number of ops
-- then per op: kind ("u" upsert, "d" delete), element id, index in KEYS of
-- its order string (0: no check), the op's N in its session, editor's user,
-- editor's name, "1" for an owner session, createdAt of a new element (unix
-- seconds), op body (protocol.OpBody), number of fields, then field name,
-- JSON value pairs (upsert).
-- Returns the op's seq or error reply for one op, else an array of them.
local meta, fields, elems, hist, authors, bans = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]

local m = redis.call('HMGET', meta, 'status', 'edit', 'seq', 'elems', 'ne', 'nbans', 'exp', 'ht')
if not m[1] then
  return redis.error_reply('PAPERCAST not_found no such paper')
end
if m[1] ~= OPEN then
  return redis.error_reply('PAPERCAST finalized the paper is final')
end
local byAuthors = m[2] == AUTHORS
-- Numbers: "s + 0" converts a string once (tonumber converts it twice),
-- and what is only compared or passed on stays a string.
local seq = m[3] + 0
local seq0 = seq
local counter = m[4] -- a string until a new element counts it up
local counter0 = counter
-- ne (live elements) and nbans are absent on papers stored before they
-- were counted: then HLEN and SISMEMBER answer.
local ne = m[5] and m[5] + 0
local ne0 = ne
if not ne then
  ne = redis.call('HLEN', elems)
end
local nbans = m[6]
if not m[8] and ne >= PADAT then
  -- once per paper (papers stored before this included): see PADF above
  for i = 2, 5 do
    if i ~= 4 then
      redis.call('HSET', KEYS[i], PADF, PADV)
      if m[7] then -- a key just created must not outlive the paper
        redis.call('PEXPIREAT', KEYS[i], m[7])
      end
    end
  end
  redis.call('HSET', meta, PADF, PADV, 'ht', 1, 'ne', ne)
  ne0 = ne
end

-- parseRec reads an element record: its order (a string), size, its
-- fields' value lengths (field -> a string, or false in a record stored
-- before sizes were kept), their count, the fields in record order and its
-- author's user id (nil in a record stored before it was kept there).
local function parseRec(cur)
  local order, size, lens, count, names, auth = nil, 0, {}, 0, {}, nil
  local bar = string.find(cur, '|', 1, true)
  if bar then
    auth = string.sub(cur, bar + 1)
    cur = string.sub(cur, 1, bar - 1)
  end
  local i = 0
  for w in string.gmatch(cur, '%S+') do
    i = i + 1
    if i == 1 then
      order = w
    elseif i == 2 then
      size = w + 0
    else
      local k, l = w, false
      local eq = string.find(w, '=', 1, true)
      if eq then
        k = string.sub(w, 1, eq - 1)
        l = string.sub(w, eq + 1)
      end
      lens[k] = l
      count = count + 1
      names[count] = k
    end
  end
  return order, size, lens, count, names, auth
end

-- ge: a >= b for decimal integers without leading zeros, as strings.
local function ge(a, b)
  return #a > #b or (#a == #b and a >= b)
end

-- one checks and applies one op; returns an error message or nil.
local function one(kind, id, user, name, owner, at, a, nf)
  if kind ~= 'u' and kind ~= 'd' then
    -- Every op kind has its own branch: a kind added in Go but not here
    -- must fail, not be taken for another kind.
    return 'unsupported unknown op kind ' .. kind
  end
  if nbans ~= '0' and redis.call('SISMEMBER', bans, user) == 1 then
    return 'banned this user is banned from the paper'
  end
  local cur = redis.call('HGET', elems, id)
  local eorder, size, lens, count, names, auth = nil, 0, {}, 0, {}, nil
  if cur then
    eorder, size, lens, count, names, auth = parseRec(cur)
  end
  -- Under the "authors" policy only an element's author, or an owner
  -- session, may change or delete it. A paper without a policy (stored
  -- before there were policies) is open. The record names its author; one
  -- stored before it did is told by the author hash (and names it once
  -- it is written again).
  if cur and owner ~= '1' and byAuthors then
    local by = auth
    if not by then
      by = ''
      local rec = redis.call('HGET', authors, id)
      if rec then
        local c, rest = string.match(rec, '^%-?%d+ (%d+) (.*)$')
        by = string.sub(rest, 1, c)
        auth = by
      end
    end
    if by ~= user then
      return 'forbidden only its author or an owner may change this element'
    end
  end

  if kind == 'd' then
    if not cur then
      return 'not_found no such element'
    end
    local del = {}
    for i, k in ipairs(names) do del[i] = id .. ':' .. k end
    if #del > 0 then redis.call('HDEL', fields, unpack(del)) end
    redis.call('HDEL', elems, id)
    redis.call('HDEL', authors, id)
    ne = ne - 1
  else
    if not cur and ne >= MAXE then
      return 'too_large a paper holds at most ' .. MAXE .. ' elements'
    end
    -- Count and size after the merge, as paper.Limits.CheckMerge counts
    -- them: a field's size is len(name) + len(JSON value); "null" removes
    -- it. What to write is gathered meanwhile and written only if it fits.
    local set, del = {}, {}
    for j = 1, nf do
      local k, v = ARGV[a + 2 * j - 2], ARGV[a + 2 * j - 1]
      local f = id .. ':' .. k
      local l = lens[k]
      if l ~= nil then
        count = count - 1
        if not l then
          l = redis.call('HSTRLEN', fields, f)
        end
        size = size - #k - l
        if v == 'null' then
          del[#del + 1] = f
          lens[k] = nil
        end
      end
      if v ~= 'null' then
        count = count + 1
        size = size + #k + #v
        set[#set + 1] = f
        set[#set + 1] = v
        if l == nil then
          names[#names + 1] = k
        end
        lens[k] = #v
      end
    end
    if count > MAXF then
      return 'too_large at most ' .. MAXF .. ' fields per element'
    end
    if size > MAXB then
      return 'too_large an element is at most ' .. MAXB .. ' bytes'
    end
    if #set > 0 then redis.call('HSET', fields, unpack(set)) end
    if #del > 0 then redis.call('HDEL', fields, unpack(del)) end
    -- A new element (or one deleted and created again) goes to the end,
    -- and its creator is its author.
    if not eorder then
      counter = counter + 1
      eorder = counter
      ne = ne + 1
      auth = user
      redis.call('HSET', authors, id, at .. ' ' .. #user .. ' ' .. user .. name)
    end
    -- The record keeps its fields' order (new ones last), so an op that
    -- changes no size leaves it as it was and it is not written again.
    local rec = {eorder, size}
    for _, k in ipairs(names) do
      local l = lens[k]
      if l ~= nil then
        if not l then
          l = redis.call('HSTRLEN', fields, id .. ':' .. k)
        end
        rec[#rec + 1] = k .. '=' .. l
      end
    end
    rec = table.concat(rec, ' ')
    if auth then
      rec = rec .. '|' .. auth
    end
    if rec ~= cur then
      redis.call('HSET', elems, id, rec)
    end
  end
  return nil
end

-- ordered runs one op under its session's order check: an op that timed
-- out for its caller may still arrive here, after the same session's next
-- op: it is refused rather than let older text overwrite newer. The
-- session's order string is set to the op's N and read in one command
-- (SET ... GET), and set back when the op is refused: nothing else runs
-- in between.
local function ordered(oi, n, ...)
  local order = oi ~= '0' and KEYS[oi + 0] or nil
  local last
  if order then
    last = redis.call('SET', order, n, 'PX', ORDERMS, 'GET') -- ORDERMS: a string
  end
  local err
  if last and ge(last, n) then
    err = 'stale a later op of this session was applied first'
  else
    err = one(...)
  end
  if err and order then
    if last then
      redis.call('SET', order, last, 'PX', ORDERMS)
    else
      redis.call('DEL', order)
    end
  end
  return err
end

local nops = ARGV[3] + 0
local out, frames = {}, {}
local a = 4
local sseq -- seq as a string, formatted once per op
for j = 1, nops do
  local nf = ARGV[a + 9] + 0
  local err = ordered(ARGV[a + 2], ARGV[a + 3], ARGV[a], ARGV[a + 1], ARGV[a + 4],
    ARGV[a + 5], ARGV[a + 6], ARGV[a + 7], a + 10, nf)
  if err then
    out[j] = redis.error_reply('PAPERCAST ' .. err)
  else
    seq = seq + 1
    sseq = tostring(seq)
    frames[#frames + 1] = PREFIX .. sseq .. ',' .. ARGV[a + 8]
    out[j] = seq
  end
  a = a + 10 + 2 * nf
end

if #frames > 0 then
  -- The list may run up to SLACK frames past HIST between trims (one
  -- LTRIM per SLACK ops, not per op); history.lua serves only the last HIST.
  if redis.call('RPUSH', hist, unpack(frames)) > HIST + SLACK then
    redis.call('LTRIM', hist, -HIST, -1)
  end
  local upd = {'seq', sseq}
  if counter ~= counter0 then
    upd[#upd + 1] = 'elems'
    upd[#upd + 1] = counter
  end
  if ne ~= ne0 then
    upd[#upd + 1] = 'ne'
    upd[#upd + 1] = ne
  end
  if not nbans then
    -- count the bans once, so later calls skip SISMEMBER while there are none
    upd[#upd + 1] = 'nbans'
    upd[#upd + 1] = redis.call('SCARD', bans)
  end
  -- Retention: an open paper's keys expire WINDOW ms after it was last
  -- touched. The deadline is kept in meta and the keys' expiry renewed to
  -- 1.5 windows only once less than a window is left, so most calls pay no
  -- PEXPIRE.
  if WINDOW > 0 then
    -- ARGV[2] is now + WINDOW: renew once the deadline is before it
    local exp = m[7]
    if not exp or not ge(exp, ARGV[2]) then
      exp = ARGV[2] + math.floor(WINDOW / 2)
      upd[#upd + 1] = 'exp'
      upd[#upd + 1] = exp
      redis.call('HSET', meta, unpack(upd))
      for i = 1, 6 do redis.call('PEXPIREAT', KEYS[i], exp) end
    else
      redis.call('HSET', meta, unpack(upd))
      -- keys this call may have created carry no expiry yet
      if ne0 == 0 or seq0 == 0 then
        for i = 2, 5 do redis.call('PEXPIREAT', KEYS[i], exp) end
      end
    end
  else
    redis.call('HSET', meta, unpack(upd))
  end
  if #frames == 1 then
    redis.call(PUB, ARGV[1], frames[1])
  else
    local msg = {'#'}
    for i = 1, #frames do
      msg[#msg + 1] = #frames[i] .. ':' .. frames[i]
    end
    redis.call(PUB, ARGV[1], table.concat(msg))
  end
end
if nops == 1 then
  return out[1]
end
return out
