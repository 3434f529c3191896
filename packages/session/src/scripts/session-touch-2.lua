--[[ session-touch: slide a session's idle TTL forward, never past its absolute lifetime and
  never shorter than it already is. The payload is not rewritten. The idle TTL is recorded, so
  later reads can slide the session themselves (session-read).
  KEYS[1]  session key (<prefix><id>)
  KEYS[2]  metadata hash ({<session key>}:meta): c = created at, t = last write or slide (ms),
           i = idle TTL (ms)
  ARGV[1]  idle TTL to slide to, ms
  ARGV[2]  absolute lifetime from creation, ms; 0 = none
  returns  {0, expiresAtMs}   OK: the TTL was extended
           {1}                MISSING: no such session (a touch never creates one)
           {3}                EXPIRED: the absolute lifetime is over, the session was deleted
           {6, expiresAtMs}   UNCHANGED: it already lives at least that long (-1 = never expires)
  A creation time that is not a whole number counts as unknown: the lifetime starts now.
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
local pttl = rcall('PTTL', KEYS[1])
if pttl == -2 then return {1} end
-- keelNow: the server's clock, whole ms, read once by core's call guard (see scripts.ts)
local now = keelNow
local ttl = tonumber(ARGV[1])
local absolute = tonumber(ARGV[2])
local created = false
if absolute > 0 then
  created = whole(rcall('HGET', KEYS[2], 'c'))
  if not created then
    -- Written by connect-redis (or its metadata expired first, or is corrupt): it starts now.
    created = now
    rcall('HSET', KEYS[2], 'c', created)
    if pttl > 0 then rcall('PEXPIRE', KEYS[2], pttl) end
  end
  --#include include/absolute-lifetime.lua
  if left < ttl then ttl = left end
end
if pttl == -1 and absolute <= 0 then return {6, -1} end
if pttl ~= -1 and pttl >= ttl then return {6, now + pttl} end
rcall('PEXPIRE', KEYS[1], ttl)
rcall('HSET', KEYS[2], 't', now, 'i', ARGV[1])
rcall('PEXPIRE', KEYS[2], ttl)
return {0, now + ttl}
