--[[ check-limits-n: check every policy of one request; charge all of them, or none.
  A transliteration of src/algorithms/*.ts (same integer arithmetic, see their notes).

  KEYS[1..n]  one key per policy, all under the client's hash tag (one Cluster slot)
  ARGV[1]     now, ms; '' reads the server clock (TIME). Only tests pass a time.
  ARGV[2]     cost, request units (integer >= 1)
  ARGV[3 + 4(i - 1) ...] policy i:
              algorithm (1 fixed-window, 2 sliding-log, 3 sliding-window, 4 token-bucket, 5 gcra),
              limit (units per window), windowMs (ms), burst (units; bucket capacity)
  returns     { status: 0 all allowed and charged, 1 limited (nothing charged), 2 bad arguments,
                then per policy: allowed (1/0), remaining (units left; nothing is charged when
                limited), resetMs, retryAfterMs (-1: never, the cost exceeds the policy's
                limit or burst), receipt }
              or { 3, i }: KEYS[i] holds a value this script did not write (nothing charged)
]]
local rcall = redis.call
local floor, ceil, max, min = math.floor, math.ceil, math.max, math.min
local fmt, match = string.format, string.match

local now, ttlFloor = nil, 0
if ARGV[1] == '' then
  -- keelTime: the server's TIME reply, read once by core's call guard (prepended to every script)
  local t = keelTime
  now = tonumber(t[1]) * 1000 + floor(tonumber(t[2]) / 1000)
else
  -- A test's clock is not the server's: keep keys long enough for real time. Every state
  -- carries its own times, so a lingering key never changes a decision, only memory use.
  now, ttlFloor = tonumber(ARGV[1]), 60000
end
local cost = tonumber(ARGV[2])
local n = #KEYS
if not now or not cost or #ARGV ~= 2 + 4 * n then return { 2 } end

local function pair(v)
  local a, b = match(v, '^(%-?%d+) (%-?%d+)$')
  return tonumber(a), tonumber(b)
end

-- Each returns: allowed, remaining, resetMs, retryAfterMs, receipt, write (when allowed);
-- or nothing when the key holds a value it cannot read (another client's data).

local function fixedWindow(key, limit, w)
  local count, resetAt = 0, now + w
  local v = rcall('GET', key)
  if v then
    local c, r = pair(v)
    if not r then return end
    if r > now then count, resetAt = c, r end
  end
  local reset = resetAt - now
  if count + cost <= limit then
    return true, limit - count - cost, reset, 0, resetAt, function()
      -- The same absolute expiry on every write: later hits never extend the window.
      rcall('SET', key, fmt('%d %d', count + cost, resetAt), 'PX', max(ttlFloor, reset))
    end
  end
  local retry = reset
  if cost > limit then retry = -1 end
  return false, max(0, limit - count), reset, retry, resetAt
end

local function slidingLog(key, limit, w)
  rcall('ZREMRANGEBYSCORE', key, '-inf', now - w)
  local count = rcall('ZCARD', key)
  if count + cost <= limit then
    return true, limit - count - cost, w, 0, now, function()
      -- Members at one time are numbered 1..m (zero-padded, so lexical order is numeric).
      local m = rcall('ZCOUNT', key, now, now)
      local j = 1
      while j <= cost do
        local args = {}
        for k = j, min(cost, j + 499) do
          args[#args + 1] = now
          args[#args + 1] = fmt('%d:%06d', now, m + k)
        end
        rcall('ZADD', key, unpack(args))
        j = j + 500
      end
      rcall('PEXPIRE', key, max(ttlFloor, w))
    end
  end
  local reset = 0
  if count > 0 then
    reset = tonumber(rcall('ZRANGE', key, -1, -1, 'WITHSCORES')[2]) + w - now
  end
  local retry = -1
  if cost <= limit then
    local i = count + cost - limit - 1
    retry = tonumber(rcall('ZRANGE', key, i, i, 'WITHSCORES')[2]) + w - now
  end
  return false, max(0, limit - count), reset, retry, now
end

local function slidingWindow(key, limit, w)
  local start = now - (now % w)
  local cur, prev = 0, 0
  local v = rcall('GET', key)
  if v then
    local s, c, p = match(v, '^(%d+) (%d+) (%d+)$')
    if not s then return end
    s, c, p = tonumber(s), tonumber(c), tonumber(p)
    if s == start then
      cur, prev = c, p
    elseif s == start - w then
      prev = c
    end
  end
  local elapsed = now - start
  local used = prev * (w - elapsed) + cur * w
  local capacity = limit * w
  local function resetOf(c)
    if c > 0 then return start + 2 * w - now end
    if prev > 0 then return start + w - now end
    return 0
  end
  if used + cost * w <= capacity then
    return true, floor((capacity - used - cost * w) / w), resetOf(cur + cost), 0, start, function()
      rcall('SET', key, fmt('%d %d %d', start, cur + cost, prev), 'PX', max(ttlFloor, start + 2 * w - now))
    end
  end
  local retry
  if cur + cost <= limit then
    retry = w - floor((limit - cur - cost) * w / prev) - elapsed
  elseif cost <= limit then
    retry = w - elapsed + max(0, w - floor((limit - cost) * w / cur))
  else
    retry = -1
  end
  return false, max(0, floor((capacity - used) / w)), resetOf(cur), retry, start
end

local function tokenBucket(key, limit, w, burst)
  local full = burst * w
  local level = full
  local v = rcall('GET', key)
  if v then
    local l, last = pair(v)
    if not last then return end
    local elapsed = min(max(0, now - last), ceil(full / limit))
    level = min(full, l + elapsed * limit)
  end
  local need = cost * w
  if level >= need then
    local after = level - need
    local reset = ceil((full - after) / limit)
    return true, floor(after / w), reset, 0, 0, function()
      rcall('SET', key, fmt('%d %d', after, now), 'PX', max(ttlFloor, reset))
    end
  end
  local reset = ceil((full - level) / limit)
  local retry = -1
  if cost <= burst then retry = ceil((need - level) / limit) end
  return false, floor(level / w), reset, retry, 0
end

local function gcra(key, limit, w, burst)
  local d = 0
  local v = rcall('GET', key)
  if v then
    local at, frac = pair(v)
    if not frac then return end
    if at >= now then d = max(0, (at - now) * limit + frac) end
  end
  local tolerance = burst * w
  local after = d + cost * w
  if after <= tolerance then
    local reset = ceil(after / limit)
    local whole = floor(after / limit)
    return true, floor((tolerance - after) / w), reset, 0, 0, function()
      rcall('SET', key, fmt('%d %d', now + whole, after - whole * limit), 'PX', max(ttlFloor, reset))
    end
  end
  local reset = ceil(d / limit)
  local retry = -1
  if cost <= burst then retry = ceil((after - tolerance) / limit) end
  return false, floor((tolerance - d) / w), reset, retry, 0
end

local algorithms = { fixedWindow, slidingLog, slidingWindow, tokenBucket, gcra }

local out, writes, allowed = { 0 }, {}, true
for i = 1, n do
  local a = 3 + 4 * (i - 1)
  local check = algorithms[tonumber(ARGV[a])]
  local limit, w, burst = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  if not check or not limit or not w or not burst then return { 2 } end
  local ok, remaining, reset, retry, receipt, write = check(KEYS[i], limit, w, burst)
  -- Another client's value under a Keel key: report it rather than overwrite or misread it.
  if ok == nil then return { 3, i } end
  if ok then writes[#writes + 1] = write else allowed = false end
  out[#out + 1] = ok and 1 or 0
  out[#out + 1] = remaining
  out[#out + 1] = reset
  out[#out + 1] = retry
  out[#out + 1] = receipt
end
if not allowed then
  -- Nothing is charged, so the policies that would have allowed it keep those units.
  for i = 1, n do
    local at = 2 + 5 * (i - 1)
    if out[at] == 1 then out[at + 1] = out[at + 1] + cost end
  end
  out[1] = 1
  return out
end
for i = 1, #writes do writes[i]() end
return out
