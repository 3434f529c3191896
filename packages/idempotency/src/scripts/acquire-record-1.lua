--[[ acquire-record-1: claim an idempotency record, or say why not. One step of the state
  machine absent -> in_progress -> completed; the record is one hash:
  state ('p' in progress, 'c' completed, 'n' completed but response not kept), fp, token,
  lease (absolute ms), status, headers (JSON), body (bytes).

  KEYS[1]  the record (hash)
  ARGV[1]  owner token of this claim (random)
  ARGV[2]  request fingerprint
  ARGV[3]  lease, ms
  ARGV[4]  retention (record TTL), ms
  ARGV[5]  now, ms since the epoch: tests only; '' reads the server clock (TIME)

  returns  {0}                          claimed (absent before, or this same claim re-sent)
           {1, expiredMsAgo}            claimed: the previous owner's lease had expired
           {2, status, headers, body}   completed with this fingerprint: replay
           {3, status}                  completed, response too large to keep
           {4, leaseLeftMs}             another owner's lease is live
           {5}                          the key was used with another fingerprint
           {8, field}                   the record holds a field Keel cannot read (foreign or
                                        corrupt data): TypeScript reports it as a store data
                                        error, so the request gets 503, never a Lua error (500)
]]
local rcall = redis.call

local function now()
  if ARGV[5] ~= '' then return tonumber(ARGV[5]) end
  -- keelNow: the server's clock, whole ms, read once by core's call guard (see scripts.ts)
  return keelNow
end

local r = rcall('HMGET', KEYS[1], 'state', 'fp', 'token', 'lease', 'status', 'headers', 'body')
local state = r[1]
if not state then
  rcall('HSET', KEYS[1], 'state', 'p', 'fp', ARGV[2], 'token', ARGV[1],
    'lease', now() + tonumber(ARGV[3]))
  rcall('PEXPIRE', KEYS[1], ARGV[4])
  return {0}
end
if r[2] ~= ARGV[2] then return {5} end
-- A replayed status or body that is missing or unreadable is checked by the decoder, which
-- sees the reply cut short at the first nil.
if state == 'c' then return {2, tonumber(r[5]), r[6], r[7]} end
if state == 'n' then return {3, tonumber(r[5])} end
if state ~= 'p' then return {8, 'state'} end
if r[3] == ARGV[1] then return {0} end

local leaseEnd = tonumber(r[4])
if not leaseEnd then return {8, 'lease'} end
local t = now()
local left = leaseEnd - t
if left > 0 then return {4, left} end
rcall('HSET', KEYS[1], 'token', ARGV[1], 'lease', t + tonumber(ARGV[3]))
rcall('PEXPIRE', KEYS[1], ARGV[4])
return {1, -left}
