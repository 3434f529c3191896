/**
 * `createRateLimiter(options)`: the framework-neutral rate limiter both adapters call. The
 * options are parsed once (`options.ts`); then one `check(req)` per request: key, cost and
 * limits, one store call for all policies (all or nothing), the failure policy when the store
 * cannot answer, the deny cache, headers, and the rejection. The adapters only apply what it
 * decided.
 */
import {
  codes as coreCodes,
  isKeelError,
  isStoreFailure,
  type KeelRequest,
  problemFromError,
  problemResponse,
  type ResponseHeaders,
} from '@keel/core';
import { RETRY_NEVER } from './algorithms/types.js';
import {
  ChargedDecision,
  capacityOf,
  plainDecision,
  type RateLimitDecision,
  rejectionResponse,
} from './decision.js';
import { RateLimitStoreFullError, RateLimitValueError } from './errors.js';
import type { DecisionSource } from './events.js';
import { mergeRequestPolicies, type PolicyState, renderHeaders } from './headers.js';
import { type LimiterConfig, parseOptions, type RateLimiterOptions } from './options.js';
import { checkUnits, storePolicy } from './policy.js';
import type { AlgorithmDecision, StoreCheckResult, StorePolicy } from './types.js';

export type { RateLimitDecision } from './decision.js';
export type { RateLimiterOptions } from './options.js';

export interface RateLimiter {
  readonly name: string;
  /** Decide on a request: exactly one store call (none when skipped or deny-cached). */
  check(req: KeelRequest): Promise<RateLimitDecision>;
  /** Forget a client's counters under every policy (for scoped policies, the unscoped ones). */
  reset(key: string): Promise<void>;
}

export function createRateLimiter(options: RateLimiterOptions = {}): RateLimiter {
  return new Limiter(parseOptions(options));
}

/** One request's policies as the store sees them, and its deny-cache key. */
interface Resolved {
  readonly policies: readonly StorePolicy[];
  readonly denyKey: string;
}

/** The decision path of one limiter; every setting it reads is in `config`. */
class Limiter implements RateLimiter {
  readonly name: string;

  constructor(private readonly config: LimiterConfig) {
    this.name = config.name;
  }

  async check(req: KeelRequest): Promise<RateLimitDecision> {
    const c = this.config;
    if (c.skip && (await c.skip(req))) return passDecision('skipped', undefined);
    // Plain values skip the awaits: each costs a microtask on every request.
    const key = c.keyGenerator ? await this.keyOf(req) : c.identity!.key(req);
    if (c.allowList !== undefined && (await this.allowListed(key, req)))
      return passDecision('allow-listed', key);
    const units = typeof c.cost === 'number' ? c.cost : await this.costOf(req);
    const resolved = c.staticPolicies
      ? { policies: c.staticPolicies, denyKey: key }
      : await this.resolve(req, key);
    const cached = this.fromDenyCache(resolved.denyKey, units);
    if (cached) return this.limited(req, key, units, cached, 'deny-cache');

    let used = c.store;
    let source: DecisionSource = 'store';
    let result: StoreCheckResult;
    const storeCheck = { clientKey: key, cost: units, policies: resolved.policies };
    try {
      result = await c.store.check(storeCheck);
    } catch (error) {
      if (!isStoreFailure(error) && !(error instanceof RateLimitStoreFullError)) throw error;
      const decided = this.failureDecision(key, units, error);
      if (decided) return decided;
      used = c.fallbackStore!;
      source = 'fallback';
      result = await used.check(storeCheck);
    }

    const list = this.states(resolved.policies, result.decisions);
    if (!result.allowed) {
      const decision = await this.limited(req, key, units, list, source);
      // Only a refusal with a retry time is worth remembering: a cost above the capacity is
      // refused by the store at once, and another request of the client may cost less.
      if (c.denyCache && source === 'store' && decision.reason === 'limited') {
        const at = c.clock();
        c.denyCache.set(
          resolved.denyKey,
          { cost: units, at, policies: list },
          at + decision.retryAfterMs,
        );
      }
      return decision;
    }
    if (c.events.active) c.events.emit('rate-limit.allowed', { limiter: c.name, key, source });
    const headers = renderHeaders(
      mergeRequestPolicies(req.raw, list),
      c.headers,
      undefined,
      Date.now(),
    );
    return new ChargedDecision(c.settings, req, source, key, units, list, headers, used, {
      ...storeCheck,
      receipts: result.decisions.map((d) => d.receipt),
    });
  }

  async reset(key: string): Promise<void> {
    await this.config.store.reset({
      clientKey: key,
      policies: this.config.policies.map((p) => storePolicy(p, 1, undefined)),
    });
  }

  /** The policies of a request whose limits or scopes depend on it. */
  private async resolve(req: KeelRequest, key: string): Promise<Resolved> {
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

  private async keyOf(req: KeelRequest): Promise<string> {
    const key = await this.config.keyGenerator!(req);
    if (typeof key !== 'string' || key.length === 0) {
      throw new RateLimitValueError(
        'keyGenerator',
        `rateLimit: keyGenerator must return a non-empty string, got ${key === '' ? '""' : String(key)}`,
      );
    }
    return key;
  }

  private async costOf(req: KeelRequest): Promise<number> {
    const { cost } = this.config;
    if (typeof cost !== 'function') return cost;
    const value = await cost(req);
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
      throw new RateLimitValueError(
        'cost',
        `rateLimit: the "cost" function must return an integer >= 1, got ${String(value)}`,
      );
    }
    return value;
  }

  private async allowListed(key: string, req: KeelRequest): Promise<boolean> {
    const { allowSet, allowList, identity } = this.config;
    if (allowSet) {
      if (allowSet.has(key)) return true;
      const address = identity?.address(req);
      return address !== undefined && allowSet.has(address);
    }
    return typeof allowList === 'function' ? Boolean(await allowList(key, req)) : false;
  }

  /** The remembered refusal of this client, aged to now; undefined when the store must decide. */
  private fromDenyCache(denyKey: string, units: number): PolicyState[] | undefined {
    const { denyCache, clock } = this.config;
    const cached = denyCache?.entry(denyKey);
    // A cost above some policy's capacity is not "limited until later": the store says so.
    if (!cached || units < cached.value.cost || units > capacityOf(cached.value.policies)) {
      return undefined;
    }
    const elapsed = clock() - cached.value.at;
    return cached.value.policies.map((p) => ({
      ...p,
      resetMs: Math.max(0, p.resetMs - elapsed),
      retryAfterMs: p.violated ? Math.max(1, p.retryAfterMs - elapsed) : 0,
    }));
  }

  private states(
    list: readonly StorePolicy[],
    decisions: readonly AlgorithmDecision[],
  ): PolicyState[] {
    const { policies } = this.config;
    return decisions.map((d, i) => ({
      name: policies[i]!.name,
      limit: list[i]!.limit,
      windowMs: list[i]!.windowMs,
      burst: list[i]!.burst,
      remaining: d.remaining,
      resetMs: d.resetMs,
      retryAfterMs: d.retryAfterMs,
      violated: !d.allowed,
    }));
  }

  /** The failure policy's decision, or `undefined` when the fallback store is to decide. */
  private failureDecision(
    key: string,
    units: number,
    error: unknown,
  ): RateLimitDecision | undefined {
    const { failurePolicy, fallbackStore, events, name, store } = this.config;
    const policy = failurePolicy === 'fallback' && !fallbackStore ? 'open' : failurePolicy;
    events.emit(
      'rate-limit.store-failure',
      { limiter: name, operation: 'check', failurePolicy, store: store.kind },
      { error },
    );
    if (policy === 'fallback') return undefined;
    const failed = {
      reason: 'store-unavailable',
      source: 'failure-policy',
      key,
      cost: units,
      error,
    } as const;
    if (policy === 'open') return plainDecision({ ...failed, allowed: true, headers: {} });
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

  private async limited(
    req: KeelRequest,
    key: string,
    units: number,
    list: PolicyState[],
    source: DecisionSource,
  ): Promise<RateLimitDecision> {
    const { events, name, headers: headerOptions, handler } = this.config;
    const refusing = list.filter((p) => p.violated);
    const violated = refusing.map((p) => p.name);
    // One policy that can never grant this cost makes the request impossible, whatever the
    // others would allow later: no retry time is promised then (issue 12).
    const never = refusing.some((p) => p.retryAfterMs === RETRY_NEVER);
    const reason = never ? 'cost-exceeds-limit' : 'limited';
    const retryAfterMs = never ? RETRY_NEVER : Math.max(1, ...refusing.map((p) => p.retryAfterMs));
    events.emit('rate-limit.limited', { limiter: name, key, policies: violated, source, reason });
    const headers = renderHeaders(
      mergeRequestPolicies(req.raw, list),
      headerOptions,
      never ? undefined : retryAfterMs,
      Date.now(),
    );
    const base = plainDecision({
      allowed: false,
      reason,
      source,
      key,
      cost: units,
      headers,
      policies: list,
      violated,
      retryAfterMs,
    });
    const response = handler ? await handler(req, base) : rejectionResponse(base);
    return { ...base, response };
  }
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

/** A store failure that waiting does not cure: a missing ACL right, foreign data under a key. */
function isLasting(error: unknown): boolean {
  if (!isKeelError(error)) return false;
  return error.code === coreCodes.STORE_MISCONFIGURED || error.code === coreCodes.STORE_DATA;
}
