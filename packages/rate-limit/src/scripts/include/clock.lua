-- Shared by the rate-limit scripts (expanded by scripts/gen-lua.ts). `now`: the server's clock
-- (keelNow, whole ms, read once by core's call guard, see scripts.ts), or the time a test
-- passes in ARGV[1]. A test's clock is not the server's: keys are kept at least `ttlFloor`
-- long in real time. Every state carries its own times, so a lingering key (or a block past
-- its end) never changes a decision, only memory use.
local now, ttlFloor = nil, 0
if ARGV[1] == '' then
  now = keelNow
else
  now, ttlFloor = tonumber(ARGV[1]), 60000
end
