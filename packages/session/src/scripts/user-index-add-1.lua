--[[ user-index-add: record that a user owns a session. Runs before the session is written, so
  the index is always a superset of the user's live sessions ("log out everywhere" misses none);
  ids of sessions that ended are removed lazily by the reader.
  KEYS[1]  the user's index set of session ids
  ARGV[1]  session id
  ARGV[2]  keep the index at least this long, ms; 0 = no expiry (sessions that slide forever)
  returns  {0, size}
]]
local rcall = redis.call
rcall('SADD', KEYS[1], ARGV[1])
local keep = tonumber(ARGV[2])
if keep > 0 then
  local pttl = rcall('PTTL', KEYS[1])
  if pttl ~= -1 and pttl < keep then rcall('PEXPIRE', KEYS[1], keep) end
else
  rcall('PERSIST', KEYS[1])
end
return {0, rcall('SCARD', KEYS[1])}
