--[[ index-count: drop the expired members of the session index, then count it.
  KEYS[1]  index sorted set: member = session id, score = expiry time, ms (server clock);
           sessions that never expire have score +inf
  ARGV     none
  returns  {0, count}
]]
local rcall = redis.call
-- keelTime: the server's TIME reply, read once by core's call guard (prepended to every script)
local time = keelTime
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
rcall('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return {0, rcall('ZCARD', KEYS[1])}
