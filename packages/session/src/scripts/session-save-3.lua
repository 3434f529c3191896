--[[ session-save: write a whole session payload, unconditionally or only if the stored one is
  still the one this request loaded (compare-and-set, for payloads Lua cannot merge: encrypted,
  compressed or custom-serialized). Never writes over a tombstone (a logout).
  KEYS[1]  session key (<prefix><id>)
  KEYS[2]  metadata hash ({<session key>}:meta): c = created at, t = last write (ms), u = user hash,
           i = idle TTL (ms, -1 = never idles out: what later reads slide back to)
  KEYS[3]  tombstone ({<session key>}:tomb), set by a destroy for a short while
  ARGV[1]  payload (bytes)
  ARGV[2]  idle TTL, ms; -1 = the session never idles out
  ARGV[3]  absolute lifetime from creation, ms; 0 = none
  ARGV[4]  SHA-1 hex of the payload the request loaded; '' = write unconditionally
  ARGV[5]  creation time carried over from the load, ms (server clock); 0 = none
  ARGV[6]  user hash for the metadata; '' = none
  ARGV[7]  '1' = a touch: never shorten the remaining TTL; '0' = the TTL is ARGV[2]
  returns  {0, expiresAtMs}   OK (-1 = never expires)
           {2}                TOMBSTONED: destroyed meanwhile, nothing written
           {3}                EXPIRED: the absolute lifetime is over, the session was deleted
           {4, payload}       CONFLICT: the stored payload changed since the load
  A creation time that is not a whole number counts as unknown (the lifetime starts now) and is
  written afresh with the rest of the metadata.
]]
local rcall = redis.call
-- Metadata fields hold whole ms, but anything may have written the hash (a hand edit, another
-- tool): only a whole number a double holds exactly counts. Anything else (`1e999`, `1.5`,
-- `abc`) would reach PEXPIRE or SET PX and fail the script on every request of the session.
local function whole(value)
  local n = tonumber(value)
  if n and n == math.floor(n) and n >= -9007199254740991 and n <= 9007199254740991 then return n end
  return nil
end
if rcall('EXISTS', KEYS[3]) == 1 then return {2} end
local current = rcall('GET', KEYS[1])
if ARGV[4] ~= '' and current and redis.sha1hex(current) ~= ARGV[4] then return {4, current} end
-- keelNow: the server's clock, whole ms, read once by core's call guard (see scripts.ts)
local now = keelNow
local meta = rcall('HMGET', KEYS[2], 'c', 'u')
local created = whole(ARGV[5]) or 0
if current then created = whole(meta[1]) or created end
if created <= 0 then created = now end
local ttl = tonumber(ARGV[2])
if ARGV[7] == '1' and current then
  local pttl = rcall('PTTL', KEYS[1])
  if pttl == -1 then ttl = -1 elseif pttl > ttl then ttl = pttl end
end
local absolute = tonumber(ARGV[3])
if absolute > 0 then
  --#include include/absolute-lifetime.lua
  -- ttl < 0: no idle expiry, so the lifetime sets it.
  if ttl < 0 or left < ttl then ttl = left end
end
if ttl > 0 then rcall('SET', KEYS[1], ARGV[1], 'PX', ttl) else rcall('SET', KEYS[1], ARGV[1]) end
if ARGV[6] ~= '' then
  rcall('HSET', KEYS[2], 'c', created, 't', now, 'i', ARGV[2], 'u', ARGV[6])
else
  rcall('HSET', KEYS[2], 'c', created, 't', now, 'i', ARGV[2])
  if meta[2] then rcall('HDEL', KEYS[2], 'u') end
end
if ttl > 0 then
  rcall('PEXPIRE', KEYS[2], ttl)
  return {0, now + ttl}
end
rcall('PERSIST', KEYS[2])
return {0, -1}
