--[[ release-claim-1: in_progress -> absent, for the current owner only, so the client may
  retry (the handler failed with a 5xx or threw).

  KEYS[1]  the record (hash)
  ARGV[1]  owner token

  returns  {6}          released
           {7, reason}  fenced: 0 record gone, 1 another owner holds it, 2 completed
]]
local rcall = redis.call

local r = rcall('HMGET', KEYS[1], 'state', 'token')
if r[1] == 'p' and r[2] == ARGV[1] then
  rcall('DEL', KEYS[1])
  return {6}
end
if not r[1] then return {7, 0} end
if r[1] == 'p' then return {7, 1} end
return {7, 2}
