--[[ session-destroy: delete a session and leave a short-lived tombstone, so a request that
  loaded the session before the logout cannot write it back when it finishes.
  KEYS[1]  session key (<prefix><id>)
  KEYS[2]  metadata hash ({<session key>}:meta): u = user hash
  KEYS[3]  tombstone ({<session key>}:tomb)
  ARGV[1]  tombstone TTL, ms; 0 = no tombstone
  ARGV[2]  user hash the session must belong to; '' = any (log out everywhere passes the user's)
  returns  {0, existed}       OK: deleted (existed 1) or already absent (0); tombstone set
           {7}                NOT_OWNER: the session belongs to another user, nothing deleted
]]
local rcall = redis.call
local exists = rcall('EXISTS', KEYS[1])
if ARGV[2] ~= '' and exists == 1 and rcall('HGET', KEYS[2], 'u') ~= ARGV[2] then return {7} end
rcall('DEL', KEYS[1], KEYS[2])
local tomb = tonumber(ARGV[1])
if tomb > 0 then rcall('SET', KEYS[3], '1', 'PX', tomb) end
return {0, exists}
