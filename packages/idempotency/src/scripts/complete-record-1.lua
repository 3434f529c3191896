--[[ complete-record-1: in_progress -> completed, for the current owner only. A late
  completion from an owner whose lease was taken over is fenced: nothing is written.

  KEYS[1]  the record (hash)
  ARGV[1]  owner token
  ARGV[2]  '1' to keep the response, '0' to keep only its status (too large to store)
  ARGV[3]  response status
  ARGV[4]  response headers, JSON
  ARGV[5]  response body, bytes
  ARGV[6]  retention (record TTL from now), ms

  returns  {6}          completed (or already completed by this same owner: a re-sent call)
           {7, reason}  fenced: 0 record gone, 1 another owner holds it, 2 completed by another
]]
local rcall = redis.call

local r = rcall('HMGET', KEYS[1], 'state', 'token')
if r[2] ~= ARGV[1] then
  if not r[1] then return {7, 0} end
  if r[1] == 'p' then return {7, 1} end
  return {7, 2}
end
if r[1] ~= 'p' then return {6} end
if ARGV[2] == '1' then
  rcall('HSET', KEYS[1], 'state', 'c', 'status', ARGV[3], 'headers', ARGV[4], 'body', ARGV[5])
else
  rcall('HSET', KEYS[1], 'state', 'n', 'status', ARGV[3])
end
rcall('PEXPIRE', KEYS[1], ARGV[6])
return {6}
