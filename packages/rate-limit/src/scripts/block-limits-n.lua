--[[ block-limits-n: refuse a client under each policy for a set time, whatever its counters
  say (`block(key, durationMs)`). The block replaces each policy's state, so the key is whole
  again when it ends, in the forms check-limits-n recognises where it already looks: the string
  'b<until ms>'; for a sliding log, a full log of `limit` entries named 'b:<n>' stamped
  until - windowMs, which all leave the window when the block ends.

  KEYS[1..n]  one key per policy, all under the client's hash tag (one Cluster slot)
  ARGV[1]     now, ms; '' reads the server clock (TIME). Only tests pass a time.
  ARGV[2]     duration, ms (integer >= 1)
  ARGV[3 + 3(i - 1) ...] policy i: algorithm (1..5 as in check-limits-n), limit (units),
              windowMs (ms)
  returns     { status: 0 done, 2 bad arguments }
]]
local rcall = redis.call
local fmt, min, max = string.format, math.min, math.max
local now, ttlFloor = nil, 0
if ARGV[1] == '' then
  -- keelNow: the server's clock, whole ms, read once by core's call guard (see scripts.ts)
  now = keelNow
else
  -- A test's clock is not the server's: a lingering block past its end counts as no state.
  now, ttlFloor = tonumber(ARGV[1]), 60000
end
local duration = tonumber(ARGV[2])
local n = #KEYS
if not now or not duration or duration < 1 or #ARGV ~= 2 + 3 * n then return { 2 } end
local untilMs = now + duration
for i = 1, n do
  local a = 3 + 3 * (i - 1)
  local key, limit, w = KEYS[i], tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  if not limit or not w then return { 2 } end
  if ARGV[a] ~= '2' then
    rcall('SET', key, fmt('b%d', untilMs), 'PX', max(ttlFloor, duration))
  else
    rcall('DEL', key)
    for k = 1, limit, 500 do
      local args = {}
      for x = k, min(limit, k + 499) do
        args[#args + 1] = untilMs - w
        args[#args + 1] = fmt('b:%06d', x)
      end
      rcall('ZADD', key, unpack(args))
    end
    rcall('PEXPIRE', key, max(ttlFloor, duration))
  end
end
return { 0 }
