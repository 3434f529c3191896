--[[
  Take a lock and issue its fencing token in the same step.

  KEYS[1]  lock key: a string holding the owner token, with a TTL
  KEYS[2]  fencing counter of the resource: an integer, no TTL (see the README)
  ARGV[1]  owner token (random, 128 bits, base64url)
  ARGV[2]  time to live, ms

  Returns {status, fence, ttl}:
    {0, fence, ttl}   acquired: the counter was incremented, fence is its new value
    {1, fence, ttl}   already ours: a retry whose first reply was lost. The TTL is set again
                      from now (the caller's validity counts from this request), and fence is
                      the counter, which only the holder moves
    {2, 0, pttl}      busy: another owner holds it for pttl more ms
]]
local rcall = redis.call
-- The uncontended case first: two calls.
if rcall('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {0, rcall('INCR', KEYS[2]), tonumber(ARGV[2])}
end
if rcall('GET', KEYS[1]) == ARGV[1] then
  rcall('PEXPIRE', KEYS[1], ARGV[2])
  return {1, tonumber(rcall('GET', KEYS[2]) or '0'), tonumber(ARGV[2])}
end
return {2, 0, rcall('PTTL', KEYS[1])}
