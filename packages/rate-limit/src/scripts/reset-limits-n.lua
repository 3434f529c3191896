--[[ reset-limits-n: forget a client's state under the given policies (an administrator's
  "unblock"). A script rather than a plain DEL so that, like every Keel script, it does
  nothing when it starts after its caller gave up: a reset reported as failed never happens
  later behind the caller's back.

  KEYS[1..n]  the policy keys, all under the client's hash tag (one Cluster slot)
  ARGV        none
  returns     the number of keys deleted
]]
local rcall = redis.call
local deleted = 0
for i = 1, #KEYS do deleted = deleted + rcall('DEL', KEYS[i]) end
return deleted
