--[[ remove-primary-1: delete a primary and every variant of it by giving its record a new
  generation. The record stays as a tombstone, so a fill that read the old generation (or no
  record) before the delete cannot write its copy afterwards.
  KEYS[1]  record of the primary (hash: vary, gen)
  ARGV[1]  a fresh generation token
  ARGV[2]  tombstone lifetime in ms (kept longer if the record already lives longer)
  returns  {3 OK}
]]
local rcall = redis.call
rcall('HSET', KEYS[1], 'gen', ARGV[1])
rcall('HSETNX', KEYS[1], 'vary', '')
if rcall('PTTL', KEYS[1]) < tonumber(ARGV[2]) then
  rcall('PEXPIRE', KEYS[1], ARGV[2])
end
return {3}
