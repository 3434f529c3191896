--[[ adjust-limits-n: penalize or reward a client under each policy, regardless of the limits.
  Transliterates the `adjust` of src/algorithms/*.ts (and `adjustPolicy` in block.ts).

  KEYS[1..n]  one key per policy, all under the client's hash tag (one Cluster slot)
  ARGV[1]     now, ms; '' reads the server clock (TIME). Only tests pass a time.
  ARGV[2]     units: > 0 charges them (a penalty; the quota may go below zero, down to 10^15
              scaled units), < 0 gives them back (a reward; never below zero, never above the
              quota) to the current window or bucket
  ARGV[3 + 4(i - 1) ...] policy i: algorithm (1..5 as in check-limits-n), limit (units),
              windowMs (ms), burst (units)
  returns     { status: 0 done, 2 bad arguments }
  A block ('b<until>', or a sliding log's 'b:<n>' entries) is left as it is; one that has
  lapsed (only a test's clock outruns its TTL) counts as no state. A value this script did not write is left alone: the next check
  reports it.
]]
local rcall = redis.call
local floor, ceil, max, min = math.floor, math.ceil, math.max, math.min
local fmt, match = string.format, string.match
local MAX_SCALED = 1000000000000000

local now, ttlFloor = nil, 0
if ARGV[1] == '' then
  -- keelNow: the server's clock, whole ms, read once by core's call guard (see scripts.ts)
  now = keelNow
else
  now, ttlFloor = tonumber(ARGV[1]), 60000
end
local units = tonumber(ARGV[2])
local n = #KEYS
if not now or not units or units == 0 or #ARGV ~= 2 + 4 * n then return { 2 } end

-- The key's value, or nil for no state; false when it must be left alone (a live block, or
-- a value Keel did not write).
local function stateOf(key, pattern)
  local v = rcall('GET', key)
  if not v then return nil end
  if match(v, pattern) then return v end
  local held = tonumber(match(v, '^b(%d+)$'))
  if held and held <= now then return nil end
  return false
end

local function fixedWindow(key, limit, w)
  local v = stateOf(key, '^%-?%d+ %-?%d+$')
  if v == false then return end
  local count, resetAt = 0, now + w
  if v then
    local c, r = match(v, '^(%-?%d+) (%-?%d+)$')
    c, r = tonumber(c), tonumber(r)
    if r > now then count, resetAt = c, r end
  end
  if units < 0 then
    if not v or resetAt ~= tonumber(match(v, ' (%-?%d+)$')) then return end
    count = max(0, count + units)
  else
    count = min(MAX_SCALED, count + units)
  end
  rcall('SET', key, fmt('%d %d', count, resetAt), 'PX', max(ttlFloor, resetAt - now))
end

local function slidingLog(key, limit, w)
  rcall('ZREMRANGEBYSCORE', key, '-inf', now - w)
  -- A block is a full log of entries named 'b:<n>' (see check-limits-n): leave it.
  local newest = rcall('ZRANGE', key, -1, -1)
  if newest[1] and string.byte(newest[1]) == 98 then return end
  if units < 0 then
    local newest = rcall('ZRANGE', key, units, -1)
    for i = 1, #newest do rcall('ZREM', key, newest[i]) end
    return
  end
  -- Entries stamped now all leave together: beyond `limit` of them, more refuse no longer.
  local m = rcall('ZCOUNT', key, now, now)
  local add = min(units, limit)
  local k = 1
  while k <= add do
    local args = {}
    for x = k, min(add, k + 499) do
      args[#args + 1] = now
      args[#args + 1] = fmt('%d:%06d', now, m + x)
    end
    rcall('ZADD', key, unpack(args))
    k = k + 500
  end
  rcall('PEXPIRE', key, max(ttlFloor, w))
end

local function slidingWindow(key, limit, w)
  local v = stateOf(key, '^%d+ %d+ %d+$')
  if v == false or (not v and units < 0) then return end
  local start = now - (now % w)
  local cur, prev = 0, 0
  if v then
    local s, c, p = match(v, '^(%d+) (%d+) (%d+)$')
    s, c, p = tonumber(s), tonumber(c), tonumber(p)
    if s == start then
      cur, prev = c, p
    elseif s == start - w then
      prev = c
    end
  end
  if units > 0 then
    cur = min(floor(MAX_SCALED / w), cur + units)
  else
    -- A reward empties the current window first, then the previous one.
    local left = max(0, cur + units)
    prev = max(0, prev + units + (cur - left))
    cur = left
  end
  rcall('SET', key, fmt('%d %d %d', start, cur, prev), 'PX', max(ttlFloor, start + 2 * w - now))
end

local function tokenBucket(key, limit, w, burst)
  local v = stateOf(key, '^%-?%d+ %-?%d+$')
  if v == false or (not v and units < 0) then return end
  local full = burst * w
  local level = full
  if v then
    local l, last = match(v, '^(%-?%d+) (%-?%d+)$')
    l = tonumber(l)
    level = min(full, l + min(max(0, now - tonumber(last)), ceil((full - l) / limit)) * limit)
  end
  level = level - units * w
  if units < 0 then level = min(full, level) else level = max(full - MAX_SCALED, level) end
  if level >= full then
    rcall('DEL', key)
  else
    rcall('SET', key, fmt('%d %d', level, now), 'PX', max(ttlFloor, ceil((full - level) / limit)))
  end
end

local function gcra(key, limit, w, burst)
  local v = stateOf(key, '^%-?%d+ %-?%d+$')
  if v == false or (not v and units < 0) then return end
  local d = 0
  if v then
    local at, frac = match(v, '^(%-?%d+) (%-?%d+)$')
    at = tonumber(at)
    if at >= now then d = max(0, (at - now) * limit + tonumber(frac)) end
  end
  d = d + units * w
  if units < 0 then d = max(0, d) else d = min(burst * w + MAX_SCALED, d) end
  if d == 0 then
    rcall('DEL', key)
  else
    local whole = floor(d / limit)
    rcall('SET', key, fmt('%d %d', now + whole, d - whole * limit), 'PX', max(ttlFloor, ceil(d / limit)))
  end
end

local algorithms = { fixedWindow, slidingLog, slidingWindow, tokenBucket, gcra }

for i = 1, n do
  local a = 3 + 4 * (i - 1)
  local adjust = algorithms[tonumber(ARGV[a])]
  local limit, w, burst = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  if not adjust or not limit or not w or not burst then return { 2 } end
  adjust(KEYS[i], limit, w, burst)
end
return { 0 }
