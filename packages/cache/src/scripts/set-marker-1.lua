--[[ set-marker-1: leave a miss marker on one variant (hit-for-miss, or "the last fill failed").
  A script rather than a plain SET so that it runs behind the call guard: a marker whose call
  was given up on (Redis stalled, a late reconnect) is never left behind, where a stale
  "failed" marker would make other instances' waiters answer 503 for a fill that is long over.
  KEYS[1]  miss marker of the variant (string: 'uncacheable' | 'failed')
  ARGV[1]  the marker
  ARGV[2]  its lifetime in ms
  returns  {3 OK}
]]
local rcall = redis.call
rcall('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return {3}
