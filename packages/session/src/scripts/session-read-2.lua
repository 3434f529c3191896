--[[ session-read: one session's payload with its remaining lifetime and Keel's metadata.
  KEYS[1]  session key, connect-redis format (<prefix><id>): a string holding the payload
  KEYS[2]  metadata hash ({<session key>}:meta, same slot): c = created at, t = last write, ms
  ARGV     none
  returns  {1}                                       MISSING: no such session
           {0, payload, pttlMs, createdAtMs, lastWriteMs}
             pttlMs -1 when the key never expires; createdAtMs / lastWriteMs 0 when unknown
             (a session written by connect-redis, or whose metadata expired first)
]]
local rcall = redis.call
local payload = rcall('GET', KEYS[1])
if not payload then return {1} end
local meta = rcall('HMGET', KEYS[2], 'c', 't')
return {0, payload, rcall('PTTL', KEYS[1]), tonumber(meta[1]) or 0, tonumber(meta[2]) or 0}
