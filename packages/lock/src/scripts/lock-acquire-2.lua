--[[
  Take a lock and issue its fencing token in the same step.

  KEYS[1]  lock key: a string holding the owner token, with a TTL
  KEYS[2]  fencing counter of the resource: an integer, no TTL (see the README)
  ARGV[1]  owner token (random, 128 bits, base64url)
  ARGV[2]  time to live, ms

  Returns {status, fence, ttl}:
    {0, fence, ttl}   acquired: fence = max(counter + 1, server time in whole 100 ms, in µs),
                      stored back as the counter, or the server time in µs when the counter is
                      missing (a restart without persistence, eviction, FLUSHALL): no token
                      exceeds the µs time it was issued at, so that one passes them all
    {1, fence, ttl}   already ours: a retry whose first reply was lost. The TTL is set again
                      from now (the caller's validity counts from this request), and fence is
                      the counter, which only the holder moves (or a new token if it was lost)
    {2, 0, pttl}      busy: another owner holds it for pttl more ms
  Errors: WRONGTYPE when the counter holds a value Keel did not write, or the error Redis
  answered reading it (NOPERM); the lock is then not left taken.
]]
local rcall = redis.call

-- The counter (0 when absent), or nil and the error to answer: Redis's own (WRONGTYPE for
-- another type, NOPERM) or WRONGTYPE for a string that is not a Keel counter.
local function counter()
  local value = redis.pcall('GET', KEYS[2])
  if value == false then return 0 end
  if type(value) == 'table' then return nil, value end
  if #value > 16 or not string.match(value, '^%d+$') or tonumber(value) >= 9007199254740992 then
    return nil, redis.error_reply('WRONGTYPE the fencing counter ' .. KEYS[2] .. ' holds a value Keel did not write')
  end
  return tonumber(value)
end

-- The next token. While the counter exists: one above it, floored at the server's clock in
-- whole 100 ms (in µs), not TIME's microseconds, so that Redlock nodes sharing the counter and
-- reading the same 100 ms issue the same token and the quorum needs no second round trip to
-- bring counters level. (The floor passes the tokens a replica missed when a failover to it
-- took longer than 100 ms; a crash failover takes seconds.) A missing counter (0) starts at
-- TIME in µs: no token ever exceeds the µs time it was issued at (each run takes over 1 µs),
-- so this one passes every token issued before the loss. Below 2^53 (year 2255), so exact in
-- Lua's doubles, in the integer reply and in a JavaScript number.
local function issue(last)
  -- keelTime, keelNow: the server's TIME reply and whole ms, read once by core's call guard
  local fence
  if last == 0 then
    fence = tonumber(keelTime[1]) * 1000000 + tonumber(keelTime[2])
  else
    fence = math.max(last + 1, (keelNow - keelNow % 100) * 1000)
  end
  rcall('SET', KEYS[2], string.format('%.0f', fence))
  return fence
end

-- The uncontended case first.
if rcall('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  local last, err = counter()
  if err then
    rcall('DEL', KEYS[1]) -- not left taken by a caller that is told it failed
    return err
  end
  return {0, issue(last), tonumber(ARGV[2])}
end
if rcall('GET', KEYS[1]) == ARGV[1] then
  local last, err = counter()
  if err then return err end
  rcall('PEXPIRE', KEYS[1], ARGV[2])
  -- The counter went missing since this owner's token was issued: issue a new, larger one.
  if last == 0 then last = issue(0) end
  return {1, last, tonumber(ARGV[2])}
end
return {2, 0, rcall('PTTL', KEYS[1])}
