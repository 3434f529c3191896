--[[ write-entry-3: store one variant, unless its primary was deleted since the caller's read.
  KEYS[1]  record of the primary (hash: vary, gen)
  KEYS[2]  entry of the variant (hash: g, c, m, b)
  KEYS[3]  miss marker of the variant (deleted: the variant is cacheable again)
  ARGV[1]  Vary names of the response ('' for none)
  ARGV[2]  generation the caller read before its origin call ('' = there was no record;
           '*' = write over whatever is there: write-through)
  ARGV[3]  a fresh generation token, used when this write starts a record or changes its Vary
  ARGV[4]  entry lifetime in ms (freshness plus the longest stale window)
  ARGV[5]  metadata JSON
  ARGV[6]  body bytes
  ARGV[7]  now in ms: tests only ('' = the server's TIME)
  returns  {3 OK, gen} | {4 CONFLICT}  (deleted or re-keyed since the read: nothing written)
]]
local rcall = redis.call
local now
if ARGV[7] ~= '' then
  now = tonumber(ARGV[7])
else
  -- keelNow: the server's clock, whole ms, read once by core's call guard (see scripts.ts)
  now = keelNow
end
local lifetime = tonumber(ARGV[4])
local record = rcall('HMGET', KEYS[1], 'vary', 'gen')
local gen = record[2]
if gen then
  -- A different generation means a delete (tombstone) or another Vary landed after the read.
  if gen ~= ARGV[2] and ARGV[2] ~= '*' then
    return {4}
  end
  if record[1] ~= ARGV[1] then
    gen = ARGV[3]
    rcall('HSET', KEYS[1], 'vary', ARGV[1], 'gen', gen)
  end
else
  -- No record: the first fill, or the record expired (an expiry is not a delete).
  gen = ARGV[3]
  rcall('HSET', KEYS[1], 'vary', ARGV[1], 'gen', gen)
end
rcall('HSET', KEYS[2], 'g', gen, 'c', now, 'm', ARGV[5], 'b', ARGV[6])
rcall('PEXPIRE', KEYS[2], lifetime)
if rcall('PTTL', KEYS[1]) < lifetime then
  rcall('PEXPIRE', KEYS[1], lifetime)
end
rcall('DEL', KEYS[3])
return {3, gen}
