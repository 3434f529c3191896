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

--#include include/clock.lua
-- The layouts in the header: POLICY_ARGS arguments per policy after now and cost, and
-- REPLY_STRIDE reply fields per policy after the status. Locals, so they cost no lookup.
local POLICY_ARGS, REPLY_STRIDE = 4, 5
local cost, n, argc, dry = tonumber(ARGV[2]), #KEYS, #ARGV
-- Block durations, when sent, follow every policy's arguments: policy i's is ARGV[durations + i].
local durations = 2 + POLICY_ARGS * n
if not now or not cost or (argc ~= durations and argc ~= durations + n) then
  -- Checked here, off the path of a plain check: a peek's 'p<cost>', or bad arguments.
  cost, dry = tonumber(match(ARGV[2], '^p(%d+)$')), true
  if not now or not cost or (argc ~= durations and argc ~= durations + n) then return { 2 } end
end

-- Writes of the allowed policies, made once every policy allowed: (key, value, ttl) triples;
-- a sliding log's value is false (it adds members instead of setting a value); a ttl of false
-- keeps the key's expiry (the write stays in the window whose end set it). Blocks started by
-- a refusal: (key, duration, algorithm, window, log size) tuples, written although nothing is
-- charged. One policy's reply and write are sized up front: a table grown entry by entry is
-- resized on the way, and that costs more than the decision.
local reply, writes, nwrites, allowed, blocks
if n == 1 then
  -- The status and one policy's REPLY_STRIDE fields; one (key, value, ttl) write.
  reply, writes = { 0, 0, 0, 0, 0, 0 }, { false, false, false }
else
  reply, writes = { 0 }, {}
end
nwrites, allowed = 0, true
for i = 1, n do
  -- Policy i's arguments are ARGV[arg .. arg + POLICY_ARGS - 1], after now and cost.
  local arg = 3 + POLICY_ARGS * (i - 1)
  local code = ARGV[arg]
  -- The burst is read only where it counts (buckets, and a blocked key): each string-to-number
  -- conversion costs about as much as a Redis command's argument.
  local limit, windowMs, burst = tonumber(ARGV[arg + 1]), tonumber(ARGV[arg + 2]), ARGV[arg + 3]
  if not limit or not windowMs then return { 2 } end
  if code == '4' or code == '5' then -- token-bucket, gcra
    burst = tonumber(burst)
    if not burst then return { 2 } end
  end
  local key = KEYS[i]
  -- held: the end of a block found in place of the state; mark: a block's reply state (2, 3)
  local ok, remaining, reset, retry, receipt, value, ttl, held, mark

  if code == '1' then -- fixed-window
    local count, resetAt, started = 0, now + windowMs, false
    local stored = rcall('GET', key)
    if stored then
      local storedCount, storedResetAt = match(stored, '^(%-?%d+) (%-?%d+)$')
      if storedResetAt then
        storedCount, storedResetAt = tonumber(storedCount), tonumber(storedResetAt)
        if storedResetAt > now then count, resetAt, started = storedCount, storedResetAt, true end
      else
        held = tonumber(match(stored, '^b(%d+)$'))
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

  elseif code == '2' then -- sliding-log
    rcall('ZREMRANGEBYSCORE', key, '-inf', now - windowMs)
    local count = rcall('ZCARD', key)
    receipt = now
    if count + cost <= limit then
      ok, remaining, reset, retry = true, limit - count - cost, windowMs, 0
      value, ttl = false, max(ttlFloor, windowMs)
      -- A peek of cost 0 charges nothing: the log is whole once its newest entry has left.
      if cost == 0 then
        reset = 0
        if count > 0 then
          local newest = rcall('ZRANGE', key, -1, -1, 'WITHSCORES')
          reset = tonumber(newest[2]) + windowMs - now
          if string.byte(newest[1]) == 98 then held = reset + now end
        end
      end
    else
      ok, remaining, reset, retry = false, max(0, limit - count), 0, -1
      if count > 0 then
        -- A block's entries ('b:<n>'; byte 98 is 'b') are the newest: they fill the log until
        -- it ends.
        local newest = rcall('ZRANGE', key, -1, -1, 'WITHSCORES')
        reset = tonumber(newest[2]) + windowMs - now
        if string.byte(newest[1]) == 98 then held = reset + now end
      end
      if cost <= limit then
        -- Room for the cost once the entry at this 0-based rank (and all older) has left.
        local rank = count + cost - limit - 1
        retry = tonumber(rcall('ZRANGE', key, rank, rank, 'WITHSCORES')[2]) + windowMs - now
      end
    end

  elseif code == '3' then -- sliding-window
    local start = now - (now % windowMs)
    local cur, prev = 0, 0
    local stored = rcall('GET', key)
    if stored then
      local storedStart, storedCur, storedPrev = match(stored, '^(%d+) (%d+) (%d+)$')
      if storedStart then
        --#include include/roll-sliding-window.lua
      else
        held = tonumber(match(stored, '^b(%d+)$'))
        if not held then return { 3, i } end
      end
    end
    local elapsed = now - start
    -- Scaled by windowMs: the previous window counts for the share of it still in the window.
    local used = prev * (windowMs - elapsed) + cur * windowMs
    local capacity = limit * windowMs
    receipt = start
    -- The window resets once the last counted request has slid out of it.
    local counted = cur
    if used + cost * windowMs <= capacity then
      ok, remaining, retry = true, floor((capacity - used - cost * windowMs) / windowMs), 0
      counted = cur + cost
      value, ttl =
        fmt('%d %d %d', start, cur + cost, prev), max(ttlFloor, start + 2 * windowMs - now)
      -- A write in the window of the stored state keeps the expiry that state's first write set.
      if cur > 0 and ttlFloor == 0 then ttl = false end
    else
      ok, remaining = false, max(0, floor((capacity - used) / windowMs))
      if cur + cost <= limit then
        retry = windowMs - floor((limit - cur - cost) * windowMs / prev) - elapsed
      elseif cost <= limit then
        retry = windowMs - elapsed + max(0, windowMs - floor((limit - cost) * windowMs / cur))
      else
        retry = -1
      end
    end
    if counted > 0 then
      reset = start + 2 * windowMs - now
    elseif prev > 0 then
      reset = start + windowMs - now
    else
      reset = 0
    end

  elseif code == '4' then -- token-bucket
    -- Levels are scaled by windowMs, so a refill of `limit` per ms is exact.
    local full = burst * windowMs
    local level = full
    local stored = rcall('GET', key)
    if stored then
      local storedLevel, last = match(stored, '^(%-?%d+) (%-?%d+)$')
      if last then
        -- Refill for at most the time to fill up from this level (below 0 after a penalty).
        storedLevel = tonumber(storedLevel)
        level = min(
          full,
          storedLevel
            + min(max(0, now - tonumber(last)), ceil((full - storedLevel) / limit)) * limit
        )
      else
        held = tonumber(match(stored, '^b(%d+)$'))
        if not held then return { 3, i } end
      end
    end
    local need = cost * windowMs
    receipt = 0
    if level >= need then
      local after = level - need
      ok, remaining, reset, retry =
        true, floor(after / windowMs), ceil((full - after) / limit), 0
      value, ttl = fmt('%d %d', after, now), max(ttlFloor, reset)
    else
      ok, remaining, reset, retry =
        false, max(0, floor(level / windowMs)), ceil((full - level) / limit), -1
      if cost <= burst then retry = ceil((need - level) / limit) end
    end

  elseif code == '5' then -- gcra
    -- ahead: how far the TAT is ahead of now, in 1/limit ms (see src/algorithms/gcra.ts).
    local ahead = 0
    local stored = rcall('GET', key)
    if stored then
      local at, frac = match(stored, '^(%-?%d+) (%-?%d+)$')
      if frac then
        at = tonumber(at)
        if at >= now then ahead = max(0, (at - now) * limit + tonumber(frac)) end
      else
        held = tonumber(match(stored, '^b(%d+)$'))
        if not held then return { 3, i } end
      end
    end
    local tolerance = burst * windowMs
    local after = ahead + cost * windowMs
    receipt = 0
    if after <= tolerance then
      -- The new TAT, now + after / limit ms, stored as whole ms and a remainder.
      local whole = floor(after / limit)
      ok, remaining, reset, retry =
        true, floor((tolerance - after) / windowMs), ceil(after / limit), 0
      value, ttl = fmt('%d %d', now + whole, after - whole * limit), max(ttlFloor, reset)
    else
      ok, remaining, reset, retry =
        false, max(0, floor((tolerance - ahead) / windowMs)), ceil(ahead / limit), -1
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
    writes[nwrites + 1], writes[nwrites + 2], writes[nwrites + 3] = key, value, ttl
    nwrites = nwrites + 3
  else
    allowed = false
    if argc > durations and retry ~= -1 and not held then
      local blockMs = tonumber(ARGV[durations + i])
      if blockMs and blockMs > 0 then
        -- This refusal starts the policy's block (a peek only reports it).
        remaining, reset, retry, mark = 0, blockMs, blockMs, 3
        blocks = blocks or {}
        local size = #blocks
        blocks[size + 1], blocks[size + 2], blocks[size + 3], blocks[size + 4] =
          key, blockMs, code, windowMs
        -- The log size: a sliding log is blocked by filling it.
        if code == '2' then blocks[size + 5] = limit else blocks[size + 5] = 0 end -- sliding-log
      end
    end
  end
  -- Policy i's fields are reply[slot + 1 .. slot + REPLY_STRIDE], after the status in reply[1]:
  -- slot = 1 + REPLY_STRIDE * (i - 1), one operation fewer as REPLY_STRIDE * i - 4. Counted,
  -- not `#reply`: a table's length is a search, on every policy of every call.
  local slot = REPLY_STRIDE * i - 4
  reply[slot + 1], reply[slot + 2], reply[slot + 3], reply[slot + 4], reply[slot + 5] =
    ok and 1 or mark or 0, remaining, reset, retry, receipt
end

if not allowed then
  -- Nothing is charged, so the policies that would have allowed it keep those units.
  for i = 1, n do
    -- Policy i's state field (1 allowed), with its remaining units next.
    local state = 2 + REPLY_STRIDE * (i - 1)
    if reply[state] == 1 then reply[state + 1] = reply[state + 1] + cost end
  end
  if blocks and not dry then
    for j = 1, #blocks, 5 do
      local key, blockMs, code, windowMs, logSize =
        blocks[j], blocks[j + 1], blocks[j + 2], blocks[j + 3], blocks[j + 4]
      local untilMs = now + blockMs
      --#include include/write-block.lua
    end
  end
  reply[1] = 1
  return reply
end
if dry then return reply end
for j = 1, nwrites, 3 do
  local key, value, ttl = writes[j], writes[j + 1], writes[j + 2]
  if ttl == false then
    rcall('SET', key, value, 'KEEPTTL')
  elseif value then
    rcall('SET', key, value, 'PX', ttl)
  else
    -- A sliding log: members at one time are numbered 1..m (zero-padded, so lexical order
    -- is numeric); `stamped` of them exist already.
    local stamped = rcall('ZCOUNT', key, now, now)
    local first = 1
    while first <= cost do
      local args = {}
      for entry = first, min(cost, first + 499) do
        args[#args + 1] = now
        args[#args + 1] = fmt('%d:%06d', now, stamped + entry)
      end
      rcall('ZADD', key, unpack(args))
      first = first + 500
    end
    rcall('PEXPIRE', key, ttl)
  end
end
return reply
