--[[ refund-limits-n: give a charged request's units back to the windows or buckets it was
  charged to (never into a later window, never below zero). Transliterates the `refund` of
  src/algorithms/*.ts.

  KEYS[1..n]  the policy keys of the original check
  ARGV[1]     now, ms; '' reads the server clock (TIME). Only tests pass a time.
  ARGV[2]     cost to give back, request units
  ARGV[3 + 5(i - 1) ...] policy i: algorithm (1..5 as in check-limits-n), limit (units),
              windowMs (ms), burst (units), receipt (from the check)
  returns     { status: 0 done, 2 bad arguments }
  A key holding a value this script did not write is left alone: there is nothing of ours to
  give back, and the next check reports it. So is a block (block-limits-n): it charged nothing.
]]
local rcall = redis.call
local floor, ceil, max, min = math.floor, math.ceil, math.max, math.min
local fmt, match = string.format, string.match

--#include include/clock.lua
-- Each policy's arguments: algorithm, limit, windowMs, burst, receipt.
local POLICY_ARGS = 5
local cost = tonumber(ARGV[2])
local n = #KEYS
if not now or not cost or #ARGV ~= 2 + POLICY_ARGS * n then return { 2 } end

-- The two integers of a fixed window, token bucket or GCRA state ('<a> <b>').
local function pair(stored)
  local first, second = match(stored, '^(%-?%d+) (%-?%d+)$')
  return tonumber(first), tonumber(second)
end

local function fixedWindow(key, limit, windowMs, burst, receipt)
  local stored = rcall('GET', key)
  if not stored then return end
  local count, resetAt = pair(stored)
  -- Only the window the check charged (its receipt is the window's end), while it lasts.
  if not resetAt or resetAt <= now or resetAt ~= receipt then return end
  local value = fmt('%d %d', max(0, count - cost), resetAt)
  rcall('SET', key, value, 'PX', max(ttlFloor, resetAt - now))
end

local function slidingLog(key, limit, windowMs, burst, receipt)
  if receipt <= now - windowMs then return end
  rcall('ZREMRANGEBYSCORE', key, '-inf', now - windowMs)
  local members = rcall('ZRANGEBYSCORE', key, receipt, receipt)
  -- Remove the highest-numbered members of that time, so numbering stays 1..m; a block's
  -- entries ('b:<n>', sorted after the digits; byte 98 is 'b') charged nothing and stay.
  local last = #members
  while last > 0 and string.byte(members[last]) == 98 do last = last - 1 end
  for i = last, max(1, last - cost + 1), -1 do rcall('ZREM', key, members[i]) end
end

local function slidingWindow(key, limit, windowMs, burst, receipt)
  local stored = rcall('GET', key)
  if not stored then return end
  local start = now - (now % windowMs)
  local storedStart, storedCur, storedPrev = match(stored, '^(%d+) (%d+) (%d+)$')
  if not storedStart then return end
  storedStart, storedCur, storedPrev =
    tonumber(storedStart), tonumber(storedCur), tonumber(storedPrev)
  local cur, prev = 0, 0
  if storedStart == start then
    cur, prev = storedCur, storedPrev
  elseif storedStart == start - windowMs then
    -- Stored in the window before this one: its current count is now the previous one.
    prev = storedCur
  end
  -- The receipt is the start of the window charged: this one or, since then, the previous.
  if receipt == start then
    cur = max(0, cur - cost)
  elseif receipt == start - windowMs then
    prev = max(0, prev - cost)
  else
    return
  end
  local value = fmt('%d %d %d', start, cur, prev)
  rcall('SET', key, value, 'PX', max(ttlFloor, start + 2 * windowMs - now))
end

local function tokenBucket(key, limit, windowMs, burst)
  local stored = rcall('GET', key)
  if not stored then return end
  -- Levels are scaled by windowMs, so a refill of `limit` per ms is exact.
  local full = burst * windowMs
  local storedLevel, last = pair(stored)
  if not last then return end
  -- Refill bounded by the time to fill up from this level, which an adjust may have taken
  -- below 0 (as in check-limits-n and src/algorithms/token-bucket.ts).
  local elapsed = min(max(0, now - last), ceil((full - storedLevel) / limit))
  local level = min(full, min(full, storedLevel + elapsed * limit) + cost * windowMs)
  if level >= full then
    rcall('DEL', key)
  else
    rcall('SET', key, fmt('%d %d', level, now), 'PX', max(ttlFloor, ceil((full - level) / limit)))
  end
end

local function gcra(key, limit, windowMs)
  local stored = rcall('GET', key)
  if not stored then return end
  local at, frac = pair(stored)
  if not frac then return end
  -- ahead: how far the TAT is ahead of now, in 1/limit ms (see src/algorithms/gcra.ts).
  local ahead = 0
  if at >= now then ahead = max(0, (at - now) * limit + frac) end
  ahead = max(0, ahead - cost * windowMs)
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
  -- Policy i's arguments are ARGV[arg .. arg + POLICY_ARGS - 1], after now and cost.
  local arg = 3 + POLICY_ARGS * (i - 1)
  local refund = algorithms[tonumber(ARGV[arg])]
  local limit, windowMs = tonumber(ARGV[arg + 1]), tonumber(ARGV[arg + 2])
  local burst, receipt = tonumber(ARGV[arg + 3]), tonumber(ARGV[arg + 4])
  if not refund or not limit or not windowMs or not burst or not receipt then return { 2 } end
  refund(KEYS[i], limit, windowMs, burst, receipt)
end
return { 0 }
