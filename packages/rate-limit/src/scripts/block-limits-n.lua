--[[ block-limits-n: refuse a client under each policy for a set time, whatever its counters
  say (`block(key, durationMs)`). The block replaces each policy's state, so the key is whole
  again when it ends; check-limits-n recognises it ('b<until ms>') where a state fails to parse.

  KEYS[1..n]  one key per policy, all under the client's hash tag (one Cluster slot)
  ARGV[1]     now, ms; '' reads the server clock (TIME). Only tests pass a time.
  ARGV[2]     duration, ms (integer >= 1)
  returns     { status: 0 done, 2 bad arguments }
]]
local rcall = redis.call
local now, ttlFloor = nil, 0
if ARGV[1] == '' then
  -- keelTime: the server's TIME reply, read once by core's call guard (prepended to every script)
  now = keelTime[1] * 1000 + math.floor(keelTime[2] / 1000)
else
  -- A test's clock is not the server's: a lingering block past its end counts as no state.
  now, ttlFloor = tonumber(ARGV[1]), 60000
end
local duration = tonumber(ARGV[2])
if not now or not duration or duration < 1 or #ARGV ~= 2 then return { 2 } end
local block = string.format('b%d', now + duration)
for i = 1, #KEYS do rcall('SET', KEYS[i], block, 'PX', math.max(ttlFloor, duration)) end
return { 0 }
