/**
 * RateLimit response headers, behind one serializer per format version:
 *
 * - `draft-10`: draft-ietf-httpapi-ratelimit-headers -09 to -11 (the current format), two
 *   Structured Field lists (RFC 9651) with one item per policy:
 *   `RateLimit-Policy: "burst";q=10;w=1, "hourly";q=1000;w=3600` and
 *   `RateLimit: "burst";r=3;t=1, "hourly";r=870;t=1200`.
 * - `draft-7`: `RateLimit: limit=10, remaining=3, reset=1` and `RateLimit-Policy: 10;w=1`, as
 *   express-rate-limit's `standardHeaders: 'draft-7'` sends them.
 * - `draft-6`: `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` and
 *   `RateLimit-Policy: 10;w=1`, as express-rate-limit's `'draft-6'`.
 * - legacy (optional, any version): `X-RateLimit-Limit`, `X-RateLimit-Remaining` and
 *   `X-RateLimit-Reset` (Unix time in seconds).
 *
 * `q`/`w` (and the single-policy forms' limit and window) state the policy's true rate in whole
 * seconds, and `q` is never below what `r` counts down from: see `advertisedQuota`.
 *
 * The draft-6/-7 and legacy forms describe one policy, so they show the most restrictive one
 * (fewest remaining, then latest reset). Several limiters on one request merge their policies
 * into one list (see `RequestPolicies`).
 *
 * Serialisation is hand-written: the only Structured Field types emitted are sf-string (policy
 * names, validated at construction to printable ASCII) and sf-integer parameters, which is a
 * dozen lines, runs on every request, and needs no dependency. Tests parse the output with the
 * `structured-headers` package to prove it conforms.
 */
import type { ResponseHeaders } from '@keel/core';

/** The header formats: `draft-10` covers drafts -09 to -11 of the IETF RateLimit fields. */
export type StandardHeaders = 'draft-10' | 'draft-7' | 'draft-6';

export const STANDARD_HEADERS: readonly StandardHeaders[] = ['draft-10', 'draft-7', 'draft-6'];

/** One policy's state for headers and for `decision.policies`. */
export interface PolicyState {
  /** Policy name, as in `RateLimit-Policy`. */
  readonly name: string;
  /** Units per window (for the bucket algorithms: the refill per `windowMs`). */
  readonly limit: number;
  readonly windowMs: number;
  /**
   * Units that may be spent at once: the bucket capacity of `token-bucket` and `gcra`, which
   * `remaining` counts down from. @default limit
   */
  readonly burst?: number;
  /** Units left after this request. */
  readonly remaining: number;
  /** ms until the quota is whole again. */
  readonly resetMs: number;
  /**
   * ms until a request of the same cost could pass; 0 unless `violated`; `RETRY_NEVER` (-1) when
   * the cost exceeds what the policy can ever grant at once.
   */
  readonly retryAfterMs: number;
  /** True when this policy refused the request. */
  readonly violated: boolean;
  /**
   * Set when the policy refused because the key is blocked: `ongoing` (blocked before this
   * request: `retryAfterMs` is when the block ends), or `started` by this refusal
   * (`blockDurationMs`). Absent otherwise.
   */
  readonly blocked?: 'ongoing' | 'started';
}

/** Largest sf-integer (RFC 9651 §3.3.1). */
const MAX_SF_INTEGER = 999_999_999_999_999;

function sfInteger(value: number): number {
  return Math.min(MAX_SF_INTEGER, Math.max(0, Math.floor(value)));
}

/** RFC 9651 sf-string: printable ASCII with `"` and `\` escaped. Throws on other characters. */
export function sfString(value: string): string {
  if (!/^[\x20-\x7e]*$/.test(value)) {
    throw new TypeError(`${JSON.stringify(value)} is not printable ASCII, so not an sf-string`);
  }
  return `"${value.replace(/[\\"]/g, '\\$&')}"`;
}

/** Policy names are few and fixed: serialise each once. */
const names = new Map<string, string>();
function sfName(name: string): string {
  let serialised = names.get(name);
  if (serialised === undefined) {
    serialised = sfString(name);
    if (names.size < 10_000) names.set(name, serialised);
  }
  return serialised;
}

/** Whole seconds, rounded up, as the delay-seconds of `t`, `reset` and `Retry-After`. */
export function seconds(ms: number): number {
  return sfInteger(Math.ceil(ms / 1000));
}

/**
 * The `t`/`reset` of a policy: when a violated policy lets a request through again, else when
 * it resets. A request that can never pass promises no time: `t` is then the reset.
 */
function resetSeconds(p: PolicyState): number {
  return seconds(p.violated && p.retryAfterMs > 0 ? p.retryAfterMs : p.resetMs);
}

/** The `q` and `w` (seconds) a policy is advertised with. */
export interface AdvertisedQuota {
  readonly quota: number;
  readonly windowSeconds: number;
}

/** Further whole-second windows tried for an exact rate before settling for the closest. */
const WINDOW_SEARCH = 60;
const advertised = new Map<string, AdvertisedQuota>();

/**
 * The `q;w` pair that states a policy truthfully, with `w` in whole seconds as the draft
 * requires. The policy's period is the time its quota takes to come back: `windowMs`, or for
 * a bucket the time to refill `burst` at `limit` per `windowMs`. A period of whole seconds is
 * advertised as it is (`q` = limit, or burst for a bucket, which is what `r` counts down
 * from). Any other period — a 100 ms window, or 15 per 1.5 s refill — is scaled to whole
 * seconds at the same rate (2 per 100 ms → `q=20;w=1`, 10 per 1.5 s → `q=20;w=3`): the
 * shortest `w` whose `q` states the rate exactly or within 1 % below it, searched over a
 * minute past the period, else the closest from below. So `q/w` never claims more than the
 * real rate (rounding `w` up, as before, claimed half of it for a 500 ms window), and `q` is
 * never below `r`.
 */
export function advertisedQuota(p: Pick<PolicyState, 'limit' | 'windowMs' | 'burst'>) {
  const burst = p.burst ?? p.limit;
  const id = `${p.limit}:${p.windowMs}:${burst}`;
  let found = advertised.get(id);
  if (found === undefined) {
    found = searchQuota(BigInt(p.limit), BigInt(p.windowMs), BigInt(burst));
    // Policies are few and mostly fixed; dynamic limits must not grow this without bound.
    if (advertised.size >= 10_000) advertised.clear();
    advertised.set(id, found);
  }
  return found;
}

/** BigInt, since `limit × w × 1000` can pass 2^53 for extreme (valid) policies. */
function searchQuota(limit: bigint, windowMs: bigint, burst: bigint): AdvertisedQuota {
  // Shortest whole-second window that holds the period (burst × windowMs / limit ms).
  const first = (burst * windowMs + limit * 1000n - 1n) / (limit * 1000n);
  let best = { quota: 0n, w: first };
  for (let w = first; w < first + BigInt(WINDOW_SEARCH); w++) {
    const units = limit * w * 1000n;
    const quota = units / windowMs;
    // Exact, or within 1 % of the rate: a short, readable pair beats a long exact one.
    if (quota * windowMs * 100n >= units * 99n) return toAdvertised(quota, w);
    if (quota * best.w > best.quota * w) best = { quota, w };
  }
  return toAdvertised(best.quota, best.w);
}

function toAdvertised(quota: bigint, w: bigint): AdvertisedQuota {
  const cap = BigInt(MAX_SF_INTEGER);
  return {
    quota: Number(quota > cap ? cap : quota),
    windowSeconds: Number(w > cap ? cap : w),
  };
}

/** The policy a single-policy header format shows: fewest remaining, then latest reset. */
function mostRestrictive(policies: readonly PolicyState[]): PolicyState {
  let pick = policies[0]!;
  for (const p of policies) {
    if (
      p.remaining < pick.remaining ||
      (p.remaining === pick.remaining && resetSeconds(p) > resetSeconds(pick))
    ) {
      pick = p;
    }
  }
  return pick;
}

type Serializer = (policies: readonly PolicyState[], headers: ResponseHeaders) => void;

const serializers: Record<StandardHeaders, Serializer> = {
  'draft-10'(policies, headers) {
    let policy = '';
    let state = '';
    for (const p of policies) {
      const name = sfName(p.name);
      const sep = policy === '' ? '' : ', ';
      const { quota, windowSeconds } = advertisedQuota(p);
      policy += `${sep}${name};q=${quota};w=${windowSeconds}`;
      state += `${sep}${name};r=${sfInteger(p.remaining)};t=${resetSeconds(p)}`;
    }
    headers['ratelimit-policy'] = policy;
    headers.ratelimit = state;
  },
  'draft-7'(policies, headers) {
    const p = mostRestrictive(policies);
    const { quota, windowSeconds } = advertisedQuota(p);
    headers['ratelimit-policy'] = `${quota};w=${windowSeconds}`;
    headers.ratelimit = `limit=${quota}, remaining=${sfInteger(p.remaining)}, reset=${resetSeconds(p)}`;
  },
  'draft-6'(policies, headers) {
    const p = mostRestrictive(policies);
    const { quota, windowSeconds } = advertisedQuota(p);
    headers['ratelimit-policy'] = `${quota};w=${windowSeconds}`;
    headers['ratelimit-limit'] = String(quota);
    headers['ratelimit-remaining'] = String(sfInteger(p.remaining));
    headers['ratelimit-reset'] = String(resetSeconds(p));
  },
};

export interface HeaderOptions {
  standard: StandardHeaders | false;
  legacy: boolean;
}

/**
 * The headers for a request's policies (all limiters so far). `retryAfterMs` is set on a
 * rejection that a wait cures: `Retry-After` is then the longest wait of the violated
 * policies, so never earlier than any violated policy's `t`. A request that can never pass
 * gets none. `nowMs` (wall clock) is only used by the legacy reset time.
 */
export function renderHeaders(
  policies: readonly PolicyState[],
  options: HeaderOptions,
  retryAfterMs: number | undefined,
  nowMs: number,
): ResponseHeaders {
  const headers: ResponseHeaders = {};
  if (policies.length > 0) {
    if (options.standard) serializers[options.standard](policies, headers);
    if (options.legacy) {
      const p = mostRestrictive(policies);
      headers['x-ratelimit-limit'] = String(advertisedQuota(p).quota);
      headers['x-ratelimit-remaining'] = String(sfInteger(p.remaining));
      headers['x-ratelimit-reset'] = String(Math.ceil((nowMs + resetSeconds(p) * 1000) / 1000));
    }
  }
  if (retryAfterMs !== undefined)
    headers['retry-after'] = String(Math.max(1, seconds(retryAfterMs)));
  return headers;
}

/**
 * The policies every limiter has reported on one request, kept on the framework's request
 * object under a private symbol, so the second limiter's headers list the first one's policies
 * too: one merged list per request instead of the last limiter's headers winning. A limiter
 * applied twice replaces its own entries. (A symbol property is much cheaper per request than
 * a WeakMap entry.)
 */
const POLICIES = Symbol('keel.rate-limit.policies');

export function mergeRequestPolicies(
  raw: unknown,
  policies: readonly PolicyState[],
): readonly PolicyState[] {
  if (typeof raw !== 'object' || raw === null) return policies;
  const holder = raw as { [POLICIES]?: PolicyState[] };
  const earlier = holder[POLICIES];
  if (earlier === undefined) {
    holder[POLICIES] = policies.slice();
    return policies;
  }
  for (const p of policies) {
    const at = earlier.findIndex((e) => e.name === p.name);
    if (at >= 0) earlier[at] = p;
    else earlier.push(p);
  }
  return earlier;
}
