-- Shared by check-limits-n (a refusal that starts a block) and block-limits-n (expanded by
-- scripts/gen-lua.ts), so both write a block the one way a check recognises: over `key`'s
-- state, until `untilMs`, for `blockMs`. Reads key, code (the algorithm), untilMs, blockMs,
-- windowMs and logSize (a sliding log's limit).
if code ~= '2' then -- not a sliding-log
  rcall('SET', key, fmt('b%d', untilMs), 'PX', max(ttlFloor, blockMs))
else
  -- A full log of `logSize` entries stamped so that they all leave the window when it ends.
  rcall('DEL', key)
  -- ZADD in batches of 500 entries: unpack's arguments are bounded by the Lua stack.
  for first = 1, logSize, 500 do
    local args = {}
    for entry = first, min(logSize, first + 499) do
      args[#args + 1] = untilMs - windowMs
      args[#args + 1] = fmt('b:%06d', entry)
    end
    rcall('ZADD', key, unpack(args))
  end
  rcall('PEXPIRE', key, max(ttlFloor, blockMs))
end
