/**
 * Policy options → validated policies. Everything that can be checked at construction is
 * checked here, with messages that name the option (`rateLimit: option "policies[1].windowMs"
 * must be …`).
 */
import { hashKeyPart, type KeelRequest, optionNames, type Validator } from '@keel/core';
import { ALGORITHM_NAMES, ALGORITHMS } from './algorithms/index.js';
import type { AlgorithmName } from './algorithms/types.js';
import { sfString } from './headers.js';
import type { StorePolicy } from './types.js';

/** A limit that depends on the request or the client key (e.g. per plan). */
export type LimitFunction = (req: KeelRequest, key: string) => number | Promise<number>;

/** Which requests share a counter beyond the client key. */
export type PolicyScope = 'route' | ((req: KeelRequest) => string | Promise<string>);

export interface PolicyOptions {
  /**
   * Name in `RateLimit`/`RateLimit-Policy` headers, in `violated-policies`, and in Redis keys:
   * 1–64 letters, digits and `_.-`. Unique within a limiter.
   * @default the limiter's name for a single policy, else `<limiter>-<window>` (e.g. `api-1h`)
   */
  name?: string;
  /**
   * `fixed-window`, `sliding-log`, `sliding-window`, `token-bucket` or `gcra` (see the README
   * for the trade-offs).
   * @default 'sliding-window'
   */
  algorithm?: AlgorithmName | undefined;
  /**
   * Request units per `windowMs` (an integer >= 1), or a function of the request and client
   * key that returns one (dynamic limits, e.g. per plan).
   */
  limit: number | LimitFunction;
  /** Window length, or the refill period of `limit` units for the bucket algorithms, ms. */
  windowMs: number;
  /**
   * Bucket capacity for `token-bucket` and `gcra`: how many units may be spent at once.
   * Not allowed for the window algorithms.
   * @default limit
   */
  burst?: number | undefined;
  /**
   * Count separately per route (`'route'`: method plus route pattern, or path when the
   * framework has not matched a route yet) or per any string a function returns. The value is
   * hashed before it enters a key, and all keys still share the client's hash tag.
   * @default undefined (one counter per client)
   */
  scope?: PolicyScope;
  /**
   * Once this policy refuses a request or `consume()` (for want of units), keep the key refused
   * for this long, ms, then whole again — rate-limiter-flexible's `blockDuration`, for
   * brute-force protection ("10 failed logins in 15 minutes, then an hour of nothing").
   * Requests during the block do not extend it; a cost above the capacity never starts one.
   * Decided by the same single script. @default undefined (no block)
   */
  blockDurationMs?: number;
}

/** A policy ready for checks. */
export interface CompiledPolicy {
  readonly name: string;
  /** `name` as an sf-string, serialised once. */
  readonly algorithm: AlgorithmName;
  readonly limit: number | LimitFunction;
  readonly windowMs: number;
  readonly burst: number | undefined;
  readonly scope: PolicyScope | undefined;
  /** ms; 0 for none. */
  readonly blockDurationMs: number;
  /** Key parts before the scope: `[limiter, policy, algorithm tag]`. */
  readonly keyParts: readonly string[];
}

const POLICY_KNOWN = optionNames<PolicyOptions>({
  name: true,
  algorithm: true,
  limit: true,
  windowMs: true,
  burst: true,
  scope: true,
  blockDurationMs: true,
});
/** The longest block: about 31 years, far beyond any lockout, and exact in every store. */
export const MAX_BLOCK_MS = 1e12;
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const NAME_ALLOWED = '1 to 64 letters, digits and "_.-", starting with a letter or digit';
/** Largest `limit × windowMs` (and `burst × windowMs`): keeps every product below 2^53. */
export const MAX_UNITS = 1e15;
/** The sliding log keeps one entry per unit: beyond this, use `sliding-window`. */
export const MAX_SLIDING_LOG_LIMIT = 100_000;

const BUCKETS = new Set<AlgorithmName>(['token-bucket', 'gcra']);

/** `1500` → `1500ms`, `60000` → `1m`, `3600000` → `1h`: for default policy names. */
export function windowLabel(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

export function compilePolicies(
  v: Validator,
  limiterName: string,
  list: readonly PolicyOptions[],
): CompiledPolicy[] {
  if (!Array.isArray(list) || list.length === 0) {
    throw v.fail('policies', list, 'a non-empty array of policies');
  }
  if (list.length > 100) throw v.fail('policies', list, 'at most 100 policies');
  const names = new Set<string>();
  return list.map((options, i) => {
    const at = list.length === 1 ? '' : `policies[${i}].`;
    if (typeof options !== 'object' || options === null) {
      throw v.fail(`policies[${i}]`, options, 'a policy object');
    }
    v.knownOptions(options, POLICY_KNOWN);
    const algorithm = v.oneOf(
      `${at}algorithm`,
      options.algorithm,
      ALGORITHM_NAMES,
      'sliding-window',
    );
    const windowMs = v.positiveInteger(
      `${at}windowMs`,
      options.windowMs,
      undefined,
      'milliseconds',
    );
    const limit =
      typeof options.limit === 'function'
        ? options.limit
        : v.positiveInteger(`${at}limit`, options.limit, undefined, 'request units per window');
    let burst: number | undefined;
    if (options.burst !== undefined) {
      if (!BUCKETS.has(algorithm)) {
        throw v.fail(
          `${at}burst`,
          options.burst,
          `undefined for the "${algorithm}" algorithm (burst is the bucket capacity of "token-bucket" and "gcra")`,
        );
      }
      burst = v.positiveInteger(`${at}burst`, options.burst);
    }
    if (typeof limit === 'number') checkUnits(v, `${at}limit`, limit, windowMs, algorithm);
    if (burst !== undefined) checkUnits(v, `${at}burst`, burst, windowMs, algorithm);
    const blockDurationMs = v.integerInRange(
      `${at}blockDurationMs`,
      options.blockDurationMs,
      0,
      0,
      MAX_BLOCK_MS,
      'ms the key stays refused once the policy refuses it, 0 = no block',
    );
    const scope = options.scope;
    if (scope !== undefined && scope !== 'route' && typeof scope !== 'function') {
      throw v.fail(`${at}scope`, scope, '"route" or a function returning a string');
    }
    const fallbackName =
      list.length === 1 ? limiterName : `${limiterName}-${windowLabel(windowMs)}`;
    const name = v.string(`${at}name`, options.name, fallbackName, {
      test: NAME_PATTERN,
      allowed: NAME_ALLOWED,
    });
    if (!NAME_PATTERN.test(name)) throw v.fail(`${at}name`, name, NAME_ALLOWED);
    if (names.has(name)) {
      throw v.fail(
        `${at}name`,
        name,
        `unique within the limiter (two policies are named "${name}"; name them, e.g. "burst" and "hourly")`,
      );
    }
    names.add(name);
    sfString(name);
    return {
      name,
      algorithm,
      limit,
      windowMs,
      burst,
      scope,
      blockDurationMs,
      keyParts: [limiterName, name, ALGORITHMS[algorithm].keyTag],
    };
  });
}

/** Validate a limit/burst against the arithmetic bounds. */
export function checkUnits(
  v: Pick<Validator, 'fail'>,
  option: string,
  units: number,
  windowMs: number,
  algorithm: AlgorithmName,
): void {
  if (units * windowMs > MAX_UNITS) {
    throw v.fail(
      option,
      units,
      `at most ${MAX_UNITS} / windowMs (${Math.floor(MAX_UNITS / windowMs)}) so the arithmetic stays exact`,
    );
  }
  if (algorithm === 'sliding-log' && units > MAX_SLIDING_LOG_LIMIT) {
    throw v.fail(
      option,
      units,
      `at most ${MAX_SLIDING_LOG_LIMIT} for "sliding-log", which keeps one entry per unit (use "sliding-window" for large limits)`,
    );
  }
}

/** A policy as a store checks it, for one request's limit and scope (hashed into the key). */
export function storePolicy(
  p: CompiledPolicy,
  limit: number,
  scope: string | undefined,
): StorePolicy {
  return {
    keyParts: scope === undefined ? p.keyParts : [...p.keyParts, hashKeyPart(scope)],
    algorithm: p.algorithm,
    limit,
    windowMs: p.windowMs,
    burst: p.burst ?? limit,
    // Only when set: a store then sends the durations, and other checks nothing more.
    ...(p.blockDurationMs > 0 ? { blockDurationMs: p.blockDurationMs } : {}),
  };
}
