/**
 * X-Forwarded-For: a comma-separated list of addresses, the client first and each proxy
 * appending the address it received the request from.
 */

/**
 * The entries nearest first (right-most entry first), at most `limit` of them. Entries are
 * trimmed and empty ones skipped (RFC 9110 §5.6.1 list rule), so `a,,b` and `a, b` are alike.
 * Scanning from the right means a long, client-supplied prefix is never split when the walk
 * only needs the last few hops. Validation of each entry is the caller's (it stops the walk).
 */
export function xForwardedForChain(value: string, limit = Number.POSITIVE_INFINITY): string[] {
  const entries: string[] = [];
  let end = value.length;
  while (entries.length < limit) {
    const comma = end > 0 ? value.lastIndexOf(',', end - 1) : -1;
    const entry = value.slice(comma + 1, end).trim();
    if (entry !== '') entries.push(entry);
    if (comma < 0) break;
    end = comma;
  }
  return entries;
}
