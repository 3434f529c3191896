--[[ renew-lease-1: the heartbeat of a long-running handler; extends the current owner's
  lease (and the record's TTL), and tells a lost owner that it lost.

  KEYS[1]  the record (hash)
  ARGV[1]  owner token
  ARGV[2]  lease from now, ms
  ARGV[3]  retention (record TTL from now), ms
  ARGV[4]  now, ms since the epoch: tests only; '' reads the server clock (TIME)

  returns  {6}          renewed
           {7, reason}  fenced: 0 record gone, 1 another owner holds it, 2 completed
]]
local rcall = redis.call

local r = rcall('HMGET', KEYS[1], 'state', 'token')
if r[1] == 'p' and r[2] == ARGV[1] then
  local now
  if ARGV[4] ~= '' then
    now = tonumber(ARGV[4])
  else
    -- keelNow: the server's clock, whole ms, read once by core's call guard (see scripts.ts)
    now = keelNow
  end
  rcall('HSET', KEYS[1], 'lease', now + tonumber(ARGV[2]))
  rcall('PEXPIRE', KEYS[1], ARGV[3])
  return {6}
end
if not r[1] then return {7, 0} end
if r[1] == 'p' then return {7, 1} end
return {7, 2}
