--[[ check-limits-n: check every policy of one request; charge all of them, or none.
  A transliteration of src/algorithms/*.ts (same integer arithmetic, see their notes).

  KEYS[1..n]  one key per policy, all under the client's hash tag (one Cluster slot)
  ARGV[1]     now, ms; '' reads the server clock (TIME). Only tests pass a time.
  ARGV[2]     cost, request units (integer >= 1); 'p<cost>' (cost >= 0) is a peek: the same
              decision, but nothing is written (no charge, no block started)
  ARGV[3 + 4(i - 1) ...] policy i:
              algorithm (1 fixed-window, 2 sliding-log, 3 sliding-window, 4 token-bucket, 5 gcra),
              limit (units per window), windowMs (ms), burst (units; bucket capacity)
  ARGV[3 + 4n + (i - 1)]  optional, for every policy or none: block duration of policy i, ms
              (0: none). A check that policy i refuses (unless the cost exceeds its capacity)
              replaces its state with a block: the key is refused for that long, then whole.
  returns     { status: 0 all allowed and charged, 1 limited (nothing charged), 2 bad arguments,
                then per policy: state (1 allowed, 0 refused, 2 refused: the key is blocked,
                3 refused and blocked from now on), remaining (units left; nothing is charged
                when limited), resetMs, retryAfterMs (-1: never, the cost exceeds the policy's
                limit or burst), receipt }
              or { 3, i }: KEYS[i] holds a value this script did not write (nothing charged)
  A block replaces the policy's state (block-limits-n writes it too), in a form recognised only
  where a check already looks, so checks of keys that are not blocked pay nothing for it: the
  string 'b<until ms>' where a state fails to parse; for a sliding log, a full log of `limit`
  entries named 'b:<n>' stamped until - windowMs, which all leave the window when it ends.
]]
local rcall = redis.call
local floor, ceil, max, min = math.floor, math.ceil, math.max, math.min
local fmt, match = string.format, string.match

-- The algorithms are inline branches of one loop, not functions: a script's functions are
-- created anew on every call, and on the hot path that costs more than any of them computes.

local now, ttlFloor = nil, 0
if ARGV[1] == '' then
  -- keelNow: the server's clock, whole ms, read once by core's call guard (see scripts.ts)
  now = keelNow
else
  -- A test's clock is not the server's: keep keys long enough for real time. Every state
  -- carries its own times, so a lingering key never changes a decision, only memory use.
  now, ttlFloor = tonumber(ARGV[1]), 60000
end
local cost, n, argc, dry = tonumber(ARGV[2]), #KEYS, #ARGV
if not now or not cost or (argc ~= 2 + 4 * n and argc ~= 2 + 5 * n) then
  -- Checked here, off the path of a plain check: a peek's 'p<cost>', or bad arguments.
  cost, dry = tonumber(match(ARGV[2], '^p(%d+)$')), true
  if not now or not cost or (argc ~= 2 + 4 * n and argc ~= 2 + 5 * n) then return { 2 } end
end

-- Writes of the allowed policies, made once every policy allowed: (key, value, ttl) triples;
-- a sliding log's value is false (it adds members instead of setting a value); a ttl of false
-- keeps the key's expiry (the write stays in the window whose end set it). Blocks started by
-- a refusal: (key, duration, algorithm, window, log size) tuples, written although nothing is
-- charged. One policy's reply and write are sized up front: a table grown entry by entry is
-- resized on the way, and that costs more than the decision.
local out, writes, nw, allowed, blocks
if n == 1 then
  out, writes = { 0, 0, 0, 0, 0, 0 }, { false, false, false }
else
  out, writes = { 0 }, {}
end
nw, allowed = 0, true
for i = 1, n do
  local a = 3 + 4 * (i - 1)
  local code = ARGV[a]
  -- The burst is read only where it counts (buckets, and a blocked key): each string-to-number
  -- conversion costs about as much as a Redis command's argument.
  local limit, w, burst = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), ARGV[a + 3]
  if not limit or not w then return { 2 } end
  if code == '4' or code == '5' then
    burst = tonumber(burst)
    if not burst then return { 2 } end
  end
  local key = KEYS[i]
  -- held: the end of a block found in place of the state; mark: a block's reply state (2, 3)
  local ok, remaining, reset, retry, receipt, value, ttl, held, mark

  if code == '1' then -- fixed window
    local count, resetAt, started = 0, now + w, false
    local v = rcall('GET', key)
    if v then
      local c, r = match(v, '^(%-?%d+) (%-?%d+)$')
      if r then
        c, r = tonumber(c), tonumber(r)
        if r > now then count, resetAt, started = c, r, true end
      else
        held = tonumber(match(v, '^b(%d+)$'))
        -- Another client's value under a Keel key: report it rather than overwrite or misread it.
        if not held then return { 3, i } end
      end
    end
    reset, receipt = resetAt - now, resetAt
    if count + cost <= limit then
      -- The same absolute expiry on every write: later hits never extend the window (and keep
      -- the expiry the window's first write set; a test's clock sets it again each time).
      ok, remaining, retry = true, limit - count - cost, 0
      value, ttl = fmt('%d %d', count + cost, resetAt), max(ttlFloor, reset)
      if started and ttlFloor == 0 then ttl = false end
    else
      ok, remaining, retry = false, max(0, limit - count), reset
      if cost > limit then retry = -1 end
    end

  elseif code == '2' then -- sliding log
    rcall('ZREMRANGEBYSCORE', key, '-inf', now - w)
    local count = rcall('ZCARD', key)
    receipt = now
    if count + cost <= limit then
      ok, remaining, reset, retry = true, limit - count - cost, w, 0
      value, ttl = false, max(ttlFloor, w)
      -- A peek of cost 0 charges nothing: the log is whole once its newest entry has left.
      if cost == 0 then
        reset = 0
        if count > 0 then
          local newest = rcall('ZRANGE', key, -1, -1, 'WITHSCORES')
          reset = tonumber(newest[2]) + w - now
          if string.byte(newest[1]) == 98 then held = reset + now end
        end
      end
    else
      ok, remaining, reset, retry = false, max(0, limit - count), 0, -1
      if count > 0 then
        -- A block's entries ('b:<n>') are the newest: they fill the log until it ends.
        local newest = rcall('ZRANGE', key, -1, -1, 'WITHSCORES')
        reset = tonumber(newest[2]) + w - now
        if string.byte(newest[1]) == 98 then held = reset + now end
      end
      if cost <= limit then
        local j = count + cost - limit - 1
        retry = tonumber(rcall('ZRANGE', key, j, j, 'WITHSCORES')[2]) + w - now
      end
    end

  elseif code == '3' then -- sliding window
    local start = now - (now % w)
    local cur, prev = 0, 0
    local v = rcall('GET', key)
    if v then
      local st, c, p = match(v, '^(%d+) (%d+) (%d+)$')
      if st then
        st, c, p = tonumber(st), tonumber(c), tonumber(p)
        if st == start then
          cur, prev = c, p
        elseif st == start - w then
          prev = c
        end
      else
        held = tonumber(match(v, '^b(%d+)$'))
        if not held then return { 3, i } end
      end
    end
    local elapsed = now - start
    local used = prev * (w - elapsed) + cur * w
    local capacity = limit * w
    receipt = start
    -- The window resets once the last counted request has slid out of it.
    local counted = cur
    if used + cost * w <= capacity then
      ok, remaining, retry = true, floor((capacity - used - cost * w) / w), 0
      counted = cur + cost
      value, ttl = fmt('%d %d %d', start, cur + cost, prev), max(ttlFloor, start + 2 * w - now)
      -- A write in the window of the stored state keeps the expiry that state's first write set.
      if cur > 0 and ttlFloor == 0 then ttl = false end
    else
      ok, remaining = false, max(0, floor((capacity - used) / w))
      if cur + cost <= limit then
        retry = w - floor((limit - cur - cost) * w / prev) - elapsed
      elseif cost <= limit then
        retry = w - elapsed + max(0, w - floor((limit - cost) * w / cur))
      else
        retry = -1
      end
    end
    if counted > 0 then
      reset = start + 2 * w - now
    elseif prev > 0 then
      reset = start + w - now
    else
      reset = 0
    end

  elseif code == '4' then -- token bucket
    local full = burst * w
    local level = full
    local v = rcall('GET', key)
    if v then
      local l, last = match(v, '^(%-?%d+) (%-?%d+)$')
      if last then
        -- Refill for at most the time to fill up from this level (below 0 after a penalty).
        l = tonumber(l)
        level = min(full, l + min(max(0, now - tonumber(last)), ceil((full - l) / limit)) * limit)
      else
        held = tonumber(match(v, '^b(%d+)$'))
        if not held then return { 3, i } end
      end
    end
    local need = cost * w
    receipt = 0
    if level >= need then
      local after = level - need
      ok, remaining, reset, retry = true, floor(after / w), ceil((full - after) / limit), 0
      value, ttl = fmt('%d %d', after, now), max(ttlFloor, reset)
    else
      ok, remaining, reset, retry = false, max(0, floor(level / w)), ceil((full - level) / limit), -1
      if cost <= burst then retry = ceil((need - level) / limit) end
    end

  elseif code == '5' then -- GCRA
    local d = 0
    local v = rcall('GET', key)
    if v then
      local at, frac = match(v, '^(%-?%d+) (%-?%d+)$')
      if frac then
        at = tonumber(at)
        if at >= now then d = max(0, (at - now) * limit + tonumber(frac)) end
      else
        held = tonumber(match(v, '^b(%d+)$'))
        if not held then return { 3, i } end
      end
    end
    local tolerance = burst * w
    local after = d + cost * w
    receipt = 0
    if after <= tolerance then
      local whole = floor(after / limit)
      ok, remaining, reset, retry = true, floor((tolerance - after) / w), ceil(after / limit), 0
      value, ttl = fmt('%d %d', now + whole, after - whole * limit), max(ttlFloor, reset)
    else
      ok, remaining, reset, retry = false, max(0, floor((tolerance - d) / w)), ceil(d / limit), -1
      if cost <= burst then retry = ceil((after - tolerance) / limit) end
    end

  else
    return { 2 }
  end

  if held then
    if held > now then
      -- Blocked: refused until the block ends (a cost above the capacity, for good).
      ok, remaining, reset, retry, mark = false, 0, held - now, held - now, 2
      if cost > (tonumber(burst) or limit) then retry = -1 end
    else
      held = nil
    end
  end

  if ok then
    writes[nw + 1], writes[nw + 2], writes[nw + 3] = key, value, ttl
    nw = nw + 3
  else
    allowed = false
    if argc > 2 + 4 * n and retry ~= -1 and not held then
      local b = tonumber(ARGV[2 + 4 * n + i])
      if b and b > 0 then
        -- This refusal starts the policy's block (a peek only reports it).
        remaining, reset, retry, mark = 0, b, b, 3
        blocks = blocks or {}
        local at = #blocks
        blocks[at + 1], blocks[at + 2], blocks[at + 3], blocks[at + 4] = key, b, code, w
        if code == '2' then blocks[at + 5] = limit else blocks[at + 5] = 0 end
      end
    end
  end
  -- Counted, not `#out`: a table's length is a search, on every policy of every call.
  local at = 5 * i - 4
  out[at + 1], out[at + 2], out[at + 3], out[at + 4], out[at + 5] =
    ok and 1 or mark or 0, remaining, reset, retry, receipt
end

if not allowed then
  -- Nothing is charged, so the policies that would have allowed it keep those units.
  for i = 1, n do
    local at = 2 + 5 * (i - 1)
    if out[at] == 1 then out[at + 1] = out[at + 1] + cost end
  end
  if blocks and not dry then
    for j = 1, #blocks, 5 do
      local key, b, w, limit = blocks[j], blocks[j + 1], blocks[j + 3], blocks[j + 4]
      if blocks[j + 2] ~= '2' then
        rcall('SET', key, fmt('b%d', now + b), 'PX', max(ttlFloor, b))
      else
        -- A sliding log is blocked by a full log of entries that all leave when the block ends.
        rcall('DEL', key)
        for k = 1, limit, 500 do
          local args = {}
          for x = k, min(limit, k + 499) do
            args[#args + 1] = now + b - w
            args[#args + 1] = fmt('b:%06d', x)
          end
          rcall('ZADD', key, unpack(args))
        end
        rcall('PEXPIRE', key, max(ttlFloor, b))
      end
    end
  end
  out[1] = 1
  return out
end
if dry then return out end
for j = 1, nw, 3 do
  local key, value, ttl = writes[j], writes[j + 1], writes[j + 2]
  if ttl == false then
    rcall('SET', key, value, 'KEEPTTL')
  elseif value then
    rcall('SET', key, value, 'PX', ttl)
  else
    -- A sliding log: members at one time are numbered 1..m (zero-padded, so lexical order
    -- is numeric).
    local m = rcall('ZCOUNT', key, now, now)
    local k = 1
    while k <= cost do
      local args = {}
      for x = k, min(cost, k + 499) do
        args[#args + 1] = now
        args[#args + 1] = fmt('%d:%06d', now, m + x)
      end
      rcall('ZADD', key, unpack(args))
      k = k + 500
    end
    rcall('PEXPIRE', key, ttl)
  end
end
return out
