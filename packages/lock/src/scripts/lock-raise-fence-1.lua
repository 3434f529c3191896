--[[
  Redlock only: raise a node's fencing counter to the token the quorum issued, so a later
  quorum, which shares at least one node with this one, issues a larger token. Raising a
  counter is always safe; it never lowers one. It issues no token, so it needs no clock floor:
  the token it is given was floored by the node that issued it.

  KEYS[1]  fencing counter of the resource
  ARGV[1]  fencing token issued by the quorum (integer)

  Returns {status, counter}:
    {0, counter}  the counter is now at least ARGV[1]
  Error WRONGTYPE: the counter holds a value Keel did not write; nothing changed.
]]
local rcall = redis.call
local stored = rcall('GET', KEYS[1])
if stored and (#stored > 16 or not string.match(stored, '^%d+$')) then
  return redis.error_reply('WRONGTYPE the fencing counter ' .. KEYS[1] .. ' holds a value Keel did not write')
end
local target = tonumber(ARGV[1])
local current = tonumber(stored or '0')
if current < target then
  rcall('SET', KEYS[1], ARGV[1])
  current = target
end
return {0, current}
