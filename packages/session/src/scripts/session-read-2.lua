--[[ session-read: one session's payload with its remaining lifetime and Keel's metadata and,
  for a request that will touch the session at its end anyway (express-session touches every
  unchanged session), the touch itself: the idle TTL slides back to the one the session was
  last written with (never shorter, never past the absolute lifetime) once at least
  ARGV[1] of it has elapsed. One round trip instead of a read and a touch.
  KEYS[1]  session key, connect-redis format (<prefix><id>): a string holding the payload
  KEYS[2]  metadata hash ({<session key>}:meta, same slot): c = created at, t = last write or
           slide, ms; i = idle TTL of the last write, ms (-1 = never idles out)
  ARGV[1]  slide once the session has lost at least this much of its idle TTL, ms (> 0);
           -1 = a plain read, nothing is written (but a corrupt metadata hash is dropped)
  ARGV[2]  absolute lifetime from creation, ms; 0 = none (only read when sliding)
  returns  {1}                MISSING: no such session
           {3}                EXPIRED: sliding found the absolute lifetime over; deleted
           {0, payload, pttlMs, createdAtMs, lastWriteMs, idleTtlMs, slid}
             pttlMs after any slide, -1 when the key never expires; createdAtMs, lastWriteMs,
             idleTtlMs 0 when unknown (a session written by connect-redis, or whose metadata
             expired first, or was corrupt); slid 1 when this read extended the TTL
             (lastWriteMs is then now)
  Metadata with a field that is not a whole number is corrupt: the hash is dropped and the
  session read as one without metadata (as connect-redis writes them); the next write or touch
  writes it afresh.
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
local payload = rcall('GET', KEYS[1])
if not payload then return {1} end
local pttl = rcall('PTTL', KEYS[1])
local meta = rcall('HMGET', KEYS[2], 'c', 't', 'i')
local created, last, idle = whole(meta[1]), whole(meta[2]), whole(meta[3])
if (meta[1] and not created) or (meta[2] and not last) or (meta[3] and not idle) then
  rcall('DEL', KEYS[2])
  created, last, idle = 0, 0, 0
end
created, last, idle = created or 0, last or 0, idle or 0
local after = tonumber(ARGV[1])
if after < 0 or idle <= 0 or pttl < 0 or idle - pttl < after then
  return {0, payload, pttl, created, last, idle, 0}
end
-- keelNow: the server's clock, whole ms, read once by core's call guard (see scripts.ts)
local now = keelNow
local ttl = idle
local absolute = tonumber(ARGV[2])
if absolute > 0 then
  if created == 0 then
    -- Metadata without a creation time (a touched connect-redis session): it starts now.
    created = now
    rcall('HSET', KEYS[2], 'c', created)
  end
  --#include include/absolute-lifetime.lua
  if left < ttl then ttl = left end
end
if ttl <= pttl then return {0, payload, pttl, created, last, idle, 0} end
rcall('PEXPIRE', KEYS[1], ttl)
rcall('HSET', KEYS[2], 't', now)
rcall('PEXPIRE', KEYS[2], ttl)
return {0, payload, ttl, created, now, idle, 1}
