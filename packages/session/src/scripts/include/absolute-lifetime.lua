-- Shared by the scripts that write or slide a session's TTL (expanded by scripts/gen-lua.ts).
-- Reads created, absolute, now: past its absolute lifetime the session is deleted; otherwise
-- `left` is what remains of it, for the caller to cap its TTL with.
local left = created + absolute - now
if left <= 0 then
  rcall('DEL', KEYS[1], KEYS[2])
  return {3}
end
