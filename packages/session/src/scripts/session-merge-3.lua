--[[ session-merge: apply one request's changes to the stored JSON session, field by field, so
  concurrent requests that change different top-level fields all persist. The stored text is
  split into its top-level members without decoding them: fields this request did not change
  keep their exact bytes (no cjson re-encoding, so numbers, key order and escapes survive and
  connect-redis reads the result as before). Never writes over a tombstone (a logout).
  KEYS[1]  session key (<prefix><id>): a JSON object, as connect-redis writes it
  KEYS[2]  metadata hash ({<session key>}:meta): c = created at, t = last write (ms), u = user hash,
           i = idle TTL (ms, -1 = never idles out: what later reads slide back to)
  KEYS[3]  tombstone ({<session key>}:tomb)
  ARGV[1]  idle TTL, ms; -1 = the session never idles out
  ARGV[2]  absolute lifetime from creation, ms; 0 = none
  ARGV[3]  user hash for the metadata; '' = none
  ARGV[4]  '1' = a touch: never shorten the remaining TTL
  ARGV[5]  n, the number of changed fields, then n pairs: the field name as a JSON string
           token (with its quotes, as JSON.stringify writes it) and its new value as JSON text
  then     m, the number of removed fields, then m field name tokens
  returns  {0, expiresAtMs}   OK (-1 = never expires)
           {1}                MISSING: nothing stored (expired meanwhile): write it whole instead
           {2}                TOMBSTONED: destroyed meanwhile, nothing written
           {3}                EXPIRED: the absolute lifetime is over, the session was deleted
           {5}                CORRUPT: the stored value is not a JSON object
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
local find, sub = string.find, string.sub

-- Index of the quote closing the JSON string that opens at i.
local function stringEnd(text, i)
  local pos = i + 1
  while true do
    local p = find(text, '["\\]', pos)
    if not p then return nil end
    if sub(text, p, p) == '"' then return p end
    pos = p + 2
  end
end

-- Index of the last character of the JSON value that starts at i.
local function valueEnd(text, i)
  local c = sub(text, i, i)
  if c == '"' then return stringEnd(text, i) end
  if c == '{' or c == '[' then
    local depth, pos = 0, i
    while true do
      local p = find(text, '[%[%]{}"]', pos)
      if not p then return nil end
      local ch = sub(text, p, p)
      if ch == '"' then
        p = stringEnd(text, p)
        if not p then return nil end
      elseif ch == '{' or ch == '[' then
        depth = depth + 1
      else
        depth = depth - 1
        if depth == 0 then return p end
      end
      pos = p + 1
    end
  end
  local p = find(text, '[,}%]%s]', i)
  if not p or p == i then return nil end
  return p - 1
end

-- The top-level members of a JSON object as {nameToken, valueText} pairs, or nil.
local function members(text)
  local out = {}
  local i = find(text, '%S')
  if not i or sub(text, i, i) ~= '{' then return nil end
  local s = find(text, '%S', i + 1)
  if s and sub(text, s, s) == '}' then return out end
  while s do
    if sub(text, s, s) ~= '"' then return nil end
    local e = stringEnd(text, s)
    if not e then return nil end
    local colon = find(text, '%S', e + 1)
    if not colon or sub(text, colon, colon) ~= ':' then return nil end
    local v = find(text, '%S', colon + 1)
    local ve = v and valueEnd(text, v)
    if not ve then return nil end
    out[#out + 1] = {sub(text, s, e), sub(text, v, ve)}
    local sep = find(text, '%S', ve + 1)
    if not sep then return nil end
    local ch = sub(text, sep, sep)
    if ch == '}' then return out end
    if ch ~= ',' then return nil end
    s = find(text, '%S', sep + 1)
  end
  return nil
end

if rcall('EXISTS', KEYS[3]) == 1 then return {2} end
local current = rcall('GET', KEYS[1])
if not current then return {1} end
local stored = members(current)
if not stored then return {5} end

local n = tonumber(ARGV[5])
local changed, order = {}, {}
for k = 1, n do
  local name = ARGV[4 + 2 * k]
  changed[name] = ARGV[5 + 2 * k]
  order[k] = name
end
local removed = {}
local m = tonumber(ARGV[6 + 2 * n])
for k = 1, m do removed[ARGV[6 + 2 * n + k]] = true end

local parts, seen = {}, {}
for _, member in ipairs(stored) do
  local name = member[1]
  seen[name] = true
  if not removed[name] then
    parts[#parts + 1] = name .. ':' .. (changed[name] or member[2])
  end
end
for _, name in ipairs(order) do
  if not seen[name] then parts[#parts + 1] = name .. ':' .. changed[name] end
end
local payload = '{' .. table.concat(parts, ',') .. '}'

-- keelNow: the server's clock, whole ms, read once by core's call guard (see scripts.ts)
local now = keelNow
local meta = rcall('HMGET', KEYS[2], 'c', 'u')
local created = whole(meta[1]) or now
local ttl = tonumber(ARGV[1])
if ARGV[4] == '1' then
  local pttl = rcall('PTTL', KEYS[1])
  if pttl == -1 then ttl = -1 elseif pttl > ttl then ttl = pttl end
end
local absolute = tonumber(ARGV[2])
if absolute > 0 then
  --#include include/absolute-lifetime.lua
  -- ttl < 0: no idle expiry, so the lifetime sets it.
  if ttl < 0 or left < ttl then ttl = left end
end
if ttl > 0 then rcall('SET', KEYS[1], payload, 'PX', ttl) else rcall('SET', KEYS[1], payload) end
if ARGV[3] ~= '' then
  rcall('HSET', KEYS[2], 'c', created, 't', now, 'i', ARGV[1], 'u', ARGV[3])
else
  rcall('HSET', KEYS[2], 'c', created, 't', now, 'i', ARGV[1])
  if meta[2] then rcall('HDEL', KEYS[2], 'u') end
end
if ttl > 0 then
  rcall('PEXPIRE', KEYS[2], ttl)
  return {0, now + ttl}
end
rcall('PERSIST', KEYS[2])
return {0, -1}
