--[[
  Release a lock only if it is still held by this owner (compare-and-delete).

  KEYS[1]  lock key
  ARGV[1]  owner token

  Returns {status}:
    {0}  released
    {3}  absent: it expired (or was released) already; nothing deleted
    {4}  another owner holds it now; nothing deleted
]]
local rcall = redis.call
local holder = rcall('GET', KEYS[1])
if holder == ARGV[1] then
  rcall('DEL', KEYS[1])
  return {0}
end
if holder then
  return {4}
end
return {3}
