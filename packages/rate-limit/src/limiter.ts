/**
 * `createRateLimiter(options)`: the framework-free rate limiter. Its key API — `consume(key)`,
 * `peek(key)`, `penalize`, `reward`, `block`, `reset` — serves job workers, websocket handlers,
 * GraphQL resolvers and login services; `check(req)`, which both HTTP adapters call, is a thin
 * layer over the same decision (decide.ts): it finds the key, cost and limits of a request,
 * then renders the headers and the rejection. The options are parsed once (`options.ts`).
 */
import {
  type KeelRequest,
  problemFromError,
  problemResponse,
  type ResponseHeaders,
} from '@keel/core';
import { type DecisionPolicies, decide, type Outcome } from './decide.js';
import {
  ChargedDecision,
  type KeyDecision,
  plainDecision,
  type RateLimitDecision,
  rejectionResponse,
} from './decision.js';
import { RateLimitValueError } from './errors.js';
import { mergeRequestPolicies, renderHeaders } from './headers.js';
import { type ConsumeOptions, isLasting, KeyLimiter } from './key-limiter.js';
import { type LimiterConfig, parseOptions, type RateLimiterOptions } from './options.js';
import { checkUnits, storePolicy } from './policy.js';
import type { StorePolicy } from './types.js';

export type { KeyDecision, RateLimitDecision } from './decision.js';
export type { ConsumeOptions } from './key-limiter.js';
export type { RateLimiterOptions } from './options.js';

export interface RateLimiter {
  readonly name: string;
  /** Decide on an HTTP request: exactly one store call (none when skipped or deny-cached). */
  check(req: KeelRequest): Promise<RateLimitDecision>;
  /**
   * Charge `cost` units (default 1) to `key` under every policy, all or none: one store call
   * (none when deny-cached), the same failure policy and events as `check`. Never rejects for
   * a refusal: read `allowed`, `reason` and `retryAfterMs`.
   */
  consume(key: string, options?: ConsumeOptions): Promise<KeyDecision>;
  /**
   * What `consume(key, { cost })` would decide, without charging anything or starting a block;
   * `cost: 0` reads the key's state as it is (`remaining`, `resetMs`).
   */
  peek(key: string, options?: ConsumeOptions): Promise<KeyDecision>;
  /** Charge `units` to `key` under every policy regardless of the limits (a failed login, abuse). */
  penalize(key: string, units: number): Promise<void>;
  /** Give `units` back to `key`'s current windows or buckets (never above the quota). */
  reward(key: string, units: number): Promise<void>;
  /** Refuse `key` under every policy for `durationMs`, whatever its counters say. */
  block(key: string, durationMs: number): Promise<void>;
  /** Forget a key's counters and blocks under every policy (for scoped policies, the unscoped ones). */
  reset(key: string): Promise<void>;
}

export function createRateLimiter(options: RateLimiterOptions = {}): RateLimiter {
  return new Limiter(parseOptions(options));
}

/** The HTTP path of one limiter, over the key API of {@link KeyLimiter}. */
class Limiter extends KeyLimiter implements RateLimiter {
  async check(req: KeelRequest): Promise<RateLimitDecision> {
    const c = this.config;
    if (c.skip && (await c.skip(req))) return passDecision('skipped', undefined);
    // Plain values skip the awaits: each costs a microtask on every request.
    const key = c.keyGenerator ? await keyOf(c.keyGenerator, req) : c.identity!.key(req);
    const { allowSet, allowList } = c;
    const allowed = allowSet
      ? this.inAllowSet(allowSet, key, req)
      : typeof allowList === 'function' && Boolean(await allowList(key, req));
    if (allowed) return passDecision('allow-listed', key);
    const units = typeof c.cost === 'number' ? c.cost : await costOf(c.cost, req);
    const decisionPolicies = c.staticPolicies
      ? { policies: c.staticPolicies, denyKey: key }
      : await this.requestPolicies(req, key);
    return this.render(req, key, units, await decide(c, key, units, decisionPolicies, false));
  }

  /** The outcome for a key, as an HTTP decision: headers, and the rejection to send. */
  private async render(
    req: KeelRequest,
    key: string,
    units: number,
    outcome: Outcome,
  ): Promise<RateLimitDecision> {
    const c = this.config;
    if (outcome.kind === 'failed') return failureDecision(key, units, outcome);
    const retryAfterMs = outcome.kind === 'refused' ? outcome.retryAfterMs : 0;
    const headers = renderHeaders(
      mergeRequestPolicies(req.raw, outcome.list),
      c.headers,
      retryAfterMs > 0 ? retryAfterMs : undefined,
      Date.now(),
    );
    if (outcome.kind === 'allowed') {
      return new ChargedDecision(
        c.settings,
        req,
        outcome.source,
        key,
        units,
        outcome.list,
        headers,
        outcome.store,
        outcome.charged!,
      );
    }
    const base = plainDecision({
      allowed: false,
      reason: outcome.reason,
      source: outcome.source,
      key,
      cost: units,
      headers,
      policies: outcome.list,
      violated: outcome.violated,
      retryAfterMs,
    });
    const response = c.handler ? await c.handler(req, base) : rejectionResponse(base);
    return { ...base, response };
  }

  /** The policies of a request whose limits or scopes depend on it. */
  private async requestPolicies(req: KeelRequest, key: string): Promise<DecisionPolicies> {
    const { policies } = this.config;
    let denyKey = key;
    const list: StorePolicy[] = [];
    for (let i = 0; i < policies.length; i++) {
      const p = policies[i]!;
      let limit = p.limit;
      if (typeof limit === 'function') {
        const option = policies.length === 1 ? 'limit' : `policies[${i}].limit`;
        limit = checkedLimit(option, await limit(req, key), p.windowMs, p.algorithm);
      }
      let scope: string | undefined;
      if (p.scope === 'route') scope = `${req.method} ${req.route ?? req.path}`;
      else if (p.scope) scope = String(await p.scope(req));
      if (scope !== undefined) denyKey += `\n${i}:${scope}`;
      list.push(storePolicy(p, limit, scope));
    }
    return { policies: list, denyKey };
  }

  /** A listed key, or (for the default key) a listed client address. */
  private inAllowSet(allowSet: ReadonlySet<string>, key: string, req: KeelRequest): boolean {
    if (allowSet.has(key)) return true;
    const address = this.config.identity?.address(req);
    return address !== undefined && allowSet.has(address);
  }
}

async function keyOf(
  keyGenerator: NonNullable<LimiterConfig['keyGenerator']>,
  req: KeelRequest,
): Promise<string> {
  const key = await keyGenerator(req);
  if (typeof key !== 'string' || key.length === 0) {
    throw new RateLimitValueError(
      'keyGenerator',
      `rateLimit: keyGenerator must return a non-empty string, got ${key === '' ? '""' : String(key)}`,
    );
  }
  return key;
}

async function costOf(
  cost: Exclude<LimiterConfig['cost'], number>,
  req: KeelRequest,
): Promise<number> {
  const value = await cost(req);
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new RateLimitValueError(
      'cost',
      `rateLimit: the "cost" function must return an integer >= 1, got ${String(value)}`,
    );
  }
  return value;
}

/** The failure policy's HTTP decision: allowed without headers, or a 503 problem. */
function failureDecision(
  key: string,
  units: number,
  outcome: Extract<Outcome, { kind: 'failed' }>,
): RateLimitDecision {
  const { error } = outcome;
  const failed = {
    reason: 'store-unavailable',
    source: 'failure-policy',
    key,
    cost: units,
    error,
  } as const;
  if (outcome.allowed) return plainDecision({ ...failed, allowed: true, headers: {} });
  // An outage may be over in a second; a refused command or foreign data will not be, so
  // no retry time is promised for those.
  const headers: ResponseHeaders = isLasting(error) ? {} : { 'retry-after': '1' };
  return plainDecision({
    ...failed,
    allowed: false,
    headers,
    response: problemResponse(problemFromError(error), headers),
  });
}

function passDecision(
  reason: 'skipped' | 'allow-listed',
  key: string | undefined,
): RateLimitDecision {
  return plainDecision({ allowed: true, reason, source: 'none', key, cost: 0, headers: {} });
}

/** A dynamic limit's value, checked as a static one is at construction. */
function checkedLimit(
  option: string,
  value: unknown,
  windowMs: number,
  algorithm: StorePolicy['algorithm'],
): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new RateLimitValueError(
      option,
      `rateLimit: the "${option}" function must return an integer >= 1, got ${String(value)}`,
    );
  }
  checkUnits(
    {
      fail: (o, val, allowed) =>
        new RateLimitValueError(
          o,
          `rateLimit: the "${o}" function must return ${allowed}, got ${String(val)}`,
        ),
    },
    option,
    value,
    windowMs,
    algorithm,
  );
  return value;
}
