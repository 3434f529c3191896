--[[ publish-invalidation-1: number an invalidation message and publish it to every L1.
  Subscribers compare the numbers: a gap, or a different counter after a reconnect, means
  messages were missed and the L1 is cleared (generations, never wall-clock times).
  KEYS[1]  the channel's generation counter (string integer)
  ARGV[1]  channel name
  ARGV[2]  message payload (JSON)
  ARGV[3]  counter lifetime in ms, renewed on every publish (a counter that expired restarts
           at 1, which subscribers read as a reset and answer by clearing their L1)
  returns  {3 OK, generation}
]]
local rcall = redis.call
local generation = rcall('INCR', KEYS[1])
rcall('PEXPIRE', KEYS[1], ARGV[3])
rcall('PUBLISH', ARGV[1], generation .. ' ' .. ARGV[2])
return {3, generation}
