--[[ ensure-tag-1: the current version token of a tag, creating one when it has none. An entry
  records the versions of its tags before its origin call; invalidating a tag deletes its
  token, so every entry written under the old token stops matching — no keyspace scan.
  KEYS[1]  the tag's version key (string)
  ARGV[1]  a fresh version token, used when the tag has none
  ARGV[2]  minimum remaining lifetime in ms (the longest any entry lives), so the token
           outlives every entry written under it
  returns  {3 OK, version}
]]
local rcall = redis.call
local version = rcall('GET', KEYS[1])
if not version then
  rcall('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return {3, ARGV[1]}
end
if rcall('PTTL', KEYS[1]) < tonumber(ARGV[2]) then
  rcall('PEXPIRE', KEYS[1], ARGV[2])
end
return {3, version}
