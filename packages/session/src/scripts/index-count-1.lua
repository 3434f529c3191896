--[[ index-count: drop the expired members of the session index, then count it.
  KEYS[1]  index sorted set: member = session id, score = expiry time, ms (server clock);
           sessions that never expire have score +inf
  ARGV     none
  returns  {0, count}
]]
local rcall = redis.call
-- keelNow: the server's clock, whole ms, read once by core's call guard (see scripts.ts)
local now = keelNow
rcall('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return {0, rcall('ZCARD', KEYS[1])}
