--[[ read-entry-3: look up one variant of a cached primary, under the caller's guess of its Vary.
  KEYS[1]  record of the primary (hash: vary = normalised Vary names, gen = generation token)
  KEYS[2]  entry of the guessed variant (hash: g = generation written under, c = created at
           in ms on the server clock, m = metadata JSON, b = body bytes)
  KEYS[3]  miss marker of that variant (string: 'uncacheable' | 'failed')
  ARGV[1]  the caller's guess of the Vary names ('' for none)
  ARGV[2]  now in ms: tests only ('' = the server's TIME)
  returns  {0 HIT, createdMs, nowMs, meta, body, gen}
         | {1 VARY, vary, gen}            the guess was wrong: read again under `vary`
         | {2 MISS, gen or '', marker or ''}
]]
local rcall = redis.call
local now
if ARGV[2] ~= '' then
  now = tonumber(ARGV[2])
else
  -- keelNow: the server's clock, whole ms, read once by core's call guard (see scripts.ts)
  now = keelNow
end
local record = rcall('HMGET', KEYS[1], 'vary', 'gen')
local gen = record[2]
if not gen then
  return {2, '', rcall('GET', KEYS[3]) or ''}
end
if record[1] ~= ARGV[1] then
  return {1, record[1] or '', gen}
end
local entry = rcall('HMGET', KEYS[2], 'g', 'c', 'm', 'b')
if entry[1] ~= gen then
  return {2, gen, rcall('GET', KEYS[3]) or ''}
end
return {0, entry[2], now, entry[3], entry[4], gen}
