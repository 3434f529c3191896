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

local now, ttlFloor = nil, 0
if ARGV[1] == '' then
  -- keelNow: the server's clock, whole ms, read once by core's call guard (see scripts.ts)
  now = keelNow
else
  -- A test's clock is not the server's: keep keys long enough for real time. Every state
  -- carries its own times, so a lingering key never changes a decision, only memory use.
  now, ttlFloor = tonumber(ARGV[1]), 60000
end
local cost = tonumber(ARGV[2])
local n = #KEYS
if not now or not cost or #ARGV ~= 2 + 5 * n then return { 2 } end

local function pair(v)
  local a, b = match(v, '^(%-?%d+) (%-?%d+)$')
  return tonumber(a), tonumber(b)
end

local function fixedWindow(key, limit, w, burst, receipt)
  local v = rcall('GET', key)
  if not v then return end
  local c, r = pair(v)
  if not r or r <= now or r ~= receipt then return end
  rcall('SET', key, fmt('%d %d', max(0, c - cost), r), 'PX', max(ttlFloor, r - now))
end

local function slidingLog(key, limit, w, burst, receipt)
  if receipt <= now - w then return end
  rcall('ZREMRANGEBYSCORE', key, '-inf', now - w)
  local members = rcall('ZRANGEBYSCORE', key, receipt, receipt)
  -- Remove the highest-numbered members of that time, so numbering stays 1..m; a block's
  -- entries ('b:<n>', sorted after the digits) charged nothing and stay.
  local last = #members
  while last > 0 and string.byte(members[last]) == 98 do last = last - 1 end
  for i = last, max(1, last - cost + 1), -1 do rcall('ZREM', key, members[i]) end
end

local function slidingWindow(key, limit, w, burst, receipt)
  local v = rcall('GET', key)
  if not v then return end
  local start = now - (now % w)
  local s, c, p = match(v, '^(%d+) (%d+) (%d+)$')
  if not s then return end
  s, c, p = tonumber(s), tonumber(c), tonumber(p)
  local cur, prev = 0, 0
  if s == start then
    cur, prev = c, p
  elseif s == start - w then
    prev = c
  end
  if receipt == start then
    cur = max(0, cur - cost)
  elseif receipt == start - w then
    prev = max(0, prev - cost)
  else
    return
  end
  rcall('SET', key, fmt('%d %d %d', start, cur, prev), 'PX', max(ttlFloor, start + 2 * w - now))
end

local function tokenBucket(key, limit, w, burst)
  local v = rcall('GET', key)
  if not v then return end
  local full = burst * w
  local l, last = pair(v)
  if not last then return end
  local elapsed = min(max(0, now - last), ceil(full / limit))
  local level = min(full, min(full, l + elapsed * limit) + cost * w)
  if level >= full then
    rcall('DEL', key)
  else
    rcall('SET', key, fmt('%d %d', level, now), 'PX', max(ttlFloor, ceil((full - level) / limit)))
  end
end

local function gcra(key, limit, w)
  local v = rcall('GET', key)
  if not v then return end
  local at, frac = pair(v)
  if not frac then return end
  local d = 0
  if at >= now then d = max(0, (at - now) * limit + frac) end
  d = max(0, d - cost * w)
  if d == 0 then
    rcall('DEL', key)
  else
    local whole = floor(d / limit)
    rcall('SET', key, fmt('%d %d', now + whole, d - whole * limit), 'PX', max(ttlFloor, ceil(d / limit)))
  end
end

local algorithms = { fixedWindow, slidingLog, slidingWindow, tokenBucket, gcra }

for i = 1, n do
  local a = 3 + 5 * (i - 1)
  local refund = algorithms[tonumber(ARGV[a])]
  local limit, w = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local burst, receipt = tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4])
  if not refund or not limit or not w or not burst or not receipt then return { 2 } end
  refund(KEYS[i], limit, w, burst, receipt)
end
return { 0 }
