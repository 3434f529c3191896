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
--#include include/clock.lua
-- Each policy's arguments: algorithm, limit, windowMs.
local POLICY_ARGS = 3
local duration = tonumber(ARGV[2])
local n = #KEYS
if not now or not duration or duration < 1 or #ARGV ~= 2 + POLICY_ARGS * n then return { 2 } end
local untilMs = now + duration
for i = 1, n do
  -- Policy i's arguments are ARGV[arg .. arg + POLICY_ARGS - 1], after now and duration.
  local arg = 3 + POLICY_ARGS * (i - 1)
  local key, limit, windowMs = KEYS[i], tonumber(ARGV[arg + 1]), tonumber(ARGV[arg + 2])
  if not limit or not windowMs then return { 2 } end
  local code, blockMs, logSize = ARGV[arg], duration, limit
  --#include include/write-block.lua
end
return { 0 }
