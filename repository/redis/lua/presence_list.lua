-- presence_list.lua: the entries whose expiry is still ahead (Redis clock).
--
-- KEYS as presence_set.lua
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local live = redis.call('ZRANGEBYSCORE', KEYS[3], '(' .. now, '+inf')
local out = {}
for i = 1, #live, 1000 do
  local chunk = {}
  for j = i, math.min(i + 999, #live) do chunk[#chunk + 1] = live[j] end
  local vals = redis.call('HMGET', KEYS[1], unpack(chunk))
  for j = 1, #vals do
    if vals[j] then out[#out + 1] = vals[j] end
  end
end
return out
