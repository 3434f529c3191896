-- Shared by check-limits-n and adjust-limits-n (expanded by scripts/gen-lua.ts), so both read a
-- sliding window's state the one way: `storedStart storedCur storedPrev`, as matched from
-- 'start cur prev', seen from the window that starts at `start` (`windowMs` long). Sets cur and
-- prev (left at 0 for a state older than the previous window).
storedStart, storedCur, storedPrev =
  tonumber(storedStart), tonumber(storedCur), tonumber(storedPrev)
if storedStart == start then
  cur, prev = storedCur, storedPrev
elseif storedStart == start - windowMs then
  -- Stored in the window before this one: its current count is now the previous one.
  prev = storedCur
end
