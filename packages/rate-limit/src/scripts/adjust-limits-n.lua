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
  lapsed (only a test's clock outruns its TTL) counts as no state. A value this script did not
  write is left alone: the next check reports it.
]]
local rcall = redis.call
local floor, ceil, max, min = math.floor, math.ceil, math.max, math.min
local fmt, match = string.format, string.match
local MAX_SCALED = 1000000000000000

--#include include/clock.lua
-- Each policy's arguments: algorithm, limit, windowMs, burst.
local POLICY_ARGS = 4
local units = tonumber(ARGV[2])
local n = #KEYS
if not now or not units or units == 0 or #ARGV ~= 2 + POLICY_ARGS * n then return { 2 } end

-- The key's value, or nil for no state; false when it must be left alone (a live block, or
-- a value Keel did not write).
local function stateOf(key, pattern)
  local stored = rcall('GET', key)
  if not stored then return nil end
  if match(stored, pattern) then return stored end
  local held = tonumber(match(stored, '^b(%d+)$'))
  if held and held <= now then return nil end
  return false
end

local function fixedWindow(key, limit, windowMs)
  local stored = stateOf(key, '^%-?%d+ %-?%d+$')
  if stored == false then return end
  local count, resetAt = 0, now + windowMs
  if stored then
    local storedCount, storedResetAt = match(stored, '^(%-?%d+) (%-?%d+)$')
    storedCount, storedResetAt = tonumber(storedCount), tonumber(storedResetAt)
    if storedResetAt > now then count, resetAt = storedCount, storedResetAt end
  end
  if units < 0 then
    -- A reward goes only to the stored window, while it lasts.
    if not stored or resetAt ~= tonumber(match(stored, ' (%-?%d+)$')) then return end
    count = max(0, count + units)
  else
    count = min(MAX_SCALED, count + units)
  end
  rcall('SET', key, fmt('%d %d', count, resetAt), 'PX', max(ttlFloor, resetAt - now))
end

local function slidingLog(key, limit, windowMs)
  rcall('ZREMRANGEBYSCORE', key, '-inf', now - windowMs)
  -- A block is a full log of entries named 'b:<n>' (see check-limits-n; byte 98 is 'b'): leave it.
  local newest = rcall('ZRANGE', key, -1, -1)
  if newest[1] and string.byte(newest[1]) == 98 then return end
  if units < 0 then
    local newest = rcall('ZRANGE', key, units, -1)
    for i = 1, #newest do rcall('ZREM', key, newest[i]) end
    return
  end
  -- Entries stamped now all leave together: beyond `limit` of them, more refuse no longer.
  -- Members at one time are numbered 1..m (as check-limits-n writes them); `stamped` exist.
  local stamped = rcall('ZCOUNT', key, now, now)
  local add = min(units, limit)
  local first = 1
  -- ZADD in batches of 500 entries: unpack's arguments are bounded by the Lua stack.
  while first <= add do
    local args = {}
    for entry = first, min(add, first + 499) do
      args[#args + 1] = now
      args[#args + 1] = fmt('%d:%06d', now, stamped + entry)
    end
    rcall('ZADD', key, unpack(args))
    first = first + 500
  end
  rcall('PEXPIRE', key, max(ttlFloor, windowMs))
end

local function slidingWindow(key, limit, windowMs)
  local stored = stateOf(key, '^%d+ %d+ %d+$')
  if stored == false or (not stored and units < 0) then return end
  local start = now - (now % windowMs)
  local cur, prev = 0, 0
  if stored then
    local storedStart, storedCur, storedPrev = match(stored, '^(%d+) (%d+) (%d+)$')
    --#include include/roll-sliding-window.lua
  end
  if units > 0 then
    cur = min(floor(MAX_SCALED / windowMs), cur + units)
  else
    -- A reward empties the current window first, then the previous one.
    local left = max(0, cur + units)
    prev = max(0, prev + units + (cur - left))
    cur = left
  end
  local value = fmt('%d %d %d', start, cur, prev)
  rcall('SET', key, value, 'PX', max(ttlFloor, start + 2 * windowMs - now))
end

local function tokenBucket(key, limit, windowMs, burst)
  local stored = stateOf(key, '^%-?%d+ %-?%d+$')
  if stored == false or (not stored and units < 0) then return end
  -- Levels are scaled by windowMs, so a refill of `limit` per ms is exact.
  local full = burst * windowMs
  local level = full
  if stored then
    local storedLevel, last = match(stored, '^(%-?%d+) (%-?%d+)$')
    storedLevel = tonumber(storedLevel)
    -- Refill for at most the time to fill up from this level (below 0 after a penalty).
    level = min(
      full,
      storedLevel + min(max(0, now - tonumber(last)), ceil((full - storedLevel) / limit)) * limit
    )
  end
  level = level - units * windowMs
  if units < 0 then level = min(full, level) else level = max(full - MAX_SCALED, level) end
  if level >= full then
    rcall('DEL', key)
  else
    rcall('SET', key, fmt('%d %d', level, now), 'PX', max(ttlFloor, ceil((full - level) / limit)))
  end
end

local function gcra(key, limit, windowMs, burst)
  local stored = stateOf(key, '^%-?%d+ %-?%d+$')
  if stored == false or (not stored and units < 0) then return end
  -- ahead: how far the TAT is ahead of now, in 1/limit ms (see src/algorithms/gcra.ts).
  local ahead = 0
  if stored then
    local at, frac = match(stored, '^(%-?%d+) (%-?%d+)$')
    at = tonumber(at)
    if at >= now then ahead = max(0, (at - now) * limit + tonumber(frac)) end
  end
  ahead = ahead + units * windowMs
  if units < 0 then
    ahead = max(0, ahead)
  else
    ahead = min(burst * windowMs + MAX_SCALED, ahead)
  end
  if ahead == 0 then
    rcall('DEL', key)
  else
    local whole = floor(ahead / limit)
    local value = fmt('%d %d', now + whole, ahead - whole * limit)
    rcall('SET', key, value, 'PX', max(ttlFloor, ceil(ahead / limit)))
  end
end

-- Indexed by algorithm code (1 fixed-window .. 5 gcra, as in check-limits-n).
local algorithms = { fixedWindow, slidingLog, slidingWindow, tokenBucket, gcra }

for i = 1, n do
  -- Policy i's arguments are ARGV[arg .. arg + POLICY_ARGS - 1], after now and units.
  local arg = 3 + POLICY_ARGS * (i - 1)
  local adjust = algorithms[tonumber(ARGV[arg])]
  local limit, windowMs = tonumber(ARGV[arg + 1]), tonumber(ARGV[arg + 2])
  local burst = tonumber(ARGV[arg + 3])
  if not adjust or not limit or not windowMs or not burst then return { 2 } end
  adjust(KEYS[i], limit, windowMs, burst)
end
return { 0 }
