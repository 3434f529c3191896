--[[
  Extend a lock only if it is still held by this owner (compare-and-expire).

  KEYS[1]  lock key
  ARGV[1]  owner token
  ARGV[2]  new time to live from now, ms

  Returns {status}:
    {0}  extended: the lock now expires ARGV[2] ms from now
    {3}  absent: it expired already; nothing changed
    {4}  another owner holds it now; nothing changed
]]
local rcall = redis.call
local holder = rcall('GET', KEYS[1])
if holder == ARGV[1] then
  rcall('PEXPIRE', KEYS[1], ARGV[2])
  return {0}
end
if holder then
  return {4}
end
return {3}
