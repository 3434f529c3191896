--[[
  Redlock only: raise a node's fencing counter to the token the quorum issued, so a later
  quorum, which shares at least one node with this one, issues a larger token. Raising a
  counter is always safe; it never lowers one.

  KEYS[1]  fencing counter of the resource
  ARGV[1]  fencing token issued by the quorum (integer)

  Returns {status, counter}:
    {0, counter}  the counter is now at least ARGV[1]
]]
local rcall = redis.call
local target = tonumber(ARGV[1])
local current = tonumber(rcall('GET', KEYS[1]) or '0')
if current < target then
  rcall('SET', KEYS[1], ARGV[1])
  current = target
end
return {0, current}
