/**
 * The limiter's key API, for work that is not an HTTP request: `consume(key)` (what
 * rate-limiter-flexible users call `consume`), `peek` (`get`), `penalize` (`penalty`),
 * `reward`, `block` and `reset` (`delete`). The same stores, policies, all-or-nothing
 * multi-policy semantics, failure policy and events as `check(req)`, which is a layer over it.
 */
import { codes as coreCodes, isKeelError, isStoreFailure, KeelOptionError } from '@keel/core';
import { RETRY_NEVER } from './algorithms/types.js';
import { decide, type Outcome } from './decide.js';
import { ChargedKeyDecision, type KeyDecision, plainKeyDecision } from './decision.js';
import { RateLimitValueError } from './errors.js';
import type { LimiterConfig } from './options.js';
import { MAX_BLOCK_MS, MAX_UNITS, storePolicy } from './policy.js';
import type { RateLimitStore, StorePolicy } from './types.js';

/** Options of `consume(key, options)` and `peek(key, options)`. */
export interface ConsumeOptions {
  /** Units to charge: an integer >= 1 (for `peek`, >= 0: 0 reads the state as it is). @default 1 */
  cost?: number;
}

type Operation = 'penalize' | 'reward' | 'block' | 'reset';

export class KeyLimiter {
  readonly name: string;

  constructor(protected readonly config: LimiterConfig) {
    this.name = config.name;
  }

  async consume(key: string, options?: ConsumeOptions): Promise<KeyDecision> {
    const units = costOf('consume', options, 1);
    const policies = this.keyPolicies('consume', key);
    const outcome = await decide(this.config, key, units, { policies, denyKey: key }, false);
    return keyDecision(this.config, key, units, outcome);
  }

  async peek(key: string, options?: ConsumeOptions): Promise<KeyDecision> {
    const units = costOf('peek', options, 0);
    const policies = this.keyPolicies('peek', key);
    const outcome = await decide(this.config, key, units, { policies, denyKey: key }, true);
    return keyDecision(this.config, key, units, outcome);
  }

  async penalize(key: string, units: number): Promise<void> {
    await this.adjust('penalize', key, units, 1);
  }

  async reward(key: string, units: number): Promise<void> {
    await this.adjust('reward', key, units, -1);
  }

  async block(key: string, durationMs: number): Promise<void> {
    const c = this.config;
    // The policies' own limits: a sliding log's block is a full log of `limit` entries.
    const policies = this.keyPolicies('block', key);
    if (!Number.isSafeInteger(durationMs) || durationMs < 1 || durationMs > MAX_BLOCK_MS) {
      throw new RateLimitValueError(
        'durationMs',
        `rateLimit: block(key, durationMs) takes an integer from 1 to ${MAX_BLOCK_MS} ms, got ${String(durationMs)}`,
      );
    }
    const block = storeMethod(c.store, 'block');
    await this.storeCall('block', () => block({ clientKey: key, policies, durationMs }));
    c.events.emit('rate-limit.blocked', {
      limiter: c.name,
      key,
      policy: '*',
      durationMs,
      source: 'block',
    });
  }

  async reset(key: string): Promise<void> {
    const c = this.config;
    const policies = c.policies.map((p) => storePolicy(p, 1, undefined));
    await this.storeCall('reset', () => c.store.reset({ clientKey: key, policies }));
    // This process no longer refuses the key from memory either.
    c.denyCache?.delete(key);
  }

  /** Penalize (`sign` 1) or reward (-1): the store's one atomic adjustment. */
  private async adjust(operation: Operation, key: string, units: number, sign: 1 | -1) {
    const c = this.config;
    const policies = this.keyPolicies(operation, key);
    const longest = Math.max(...policies.map((p) => p.windowMs));
    const most = Math.floor(MAX_UNITS / longest);
    if (!Number.isSafeInteger(units) || units < 1 || units > most) {
      throw new RateLimitValueError(
        'units',
        `rateLimit: ${operation}(key, units) takes an integer from 1 to ${most} (10^15 / the longest windowMs), got ${String(units)}`,
      );
    }
    const adjustStore = storeMethod(c.store, 'adjust');
    const adjustment = { clientKey: key, units: sign * units, policies };
    await this.storeCall(operation, () => adjustStore(adjustment));
    if (sign < 0) c.denyCache?.delete(key);
    if (c.events.active) {
      c.events.emit('rate-limit.adjusted', { limiter: c.name, key, units: sign * units });
    }
  }

  /** A write of the key API: a store failure is reported (event) and rejects, coded. */
  private async storeCall(operation: Operation, call: () => Promise<void>): Promise<void> {
    const { events, name, failurePolicy, store } = this.config;
    try {
      await call();
    } catch (error) {
      if (isStoreFailure(error)) {
        events.emit(
          'rate-limit.store-failure',
          { limiter: name, operation, failurePolicy, store: store.kind },
          { error },
        );
      }
      throw error;
    }
  }

  /** The limiter's policies for a key alone: only limits and scopes that need no request. */
  private keyPolicies(method: string, key: string): readonly StorePolicy[] {
    checkKey(method, key);
    const { staticPolicies, policies } = this.config;
    if (staticPolicies) return staticPolicies;
    const needy = policies.find((p) => p.scope !== undefined || typeof p.limit === 'function')!;
    const what = needy.scope !== undefined ? 'a scope' : 'a limit function';
    throw new KeelOptionError(
      'rateLimit.policies',
      `rateLimit: ${method}(key) cannot decide policy "${needy.name}", which has ${what} of the request; use check(req) for it, or give the key API a limiter whose policies have a number as limit and no scope`,
    );
  }
}

function checkKey(method: string, key: unknown): void {
  if (typeof key !== 'string' || key.length === 0) {
    throw new RateLimitValueError(
      'key',
      `rateLimit: ${method}(key) takes a non-empty string key (a user id, job id, connection id…), got ${key === '' ? '""' : String(key)}`,
    );
  }
}

function costOf(method: string, options: ConsumeOptions | undefined, min: 0 | 1): number {
  const cost = options?.cost ?? 1;
  if (!Number.isSafeInteger(cost) || cost < min) {
    throw new RateLimitValueError(
      'cost',
      `rateLimit: ${method}(key, { cost }) takes an integer >= ${min}, got ${String(cost)}`,
    );
  }
  return cost;
}

/** The store's optional method, bound; a coded error naming it when the store has none. */
function storeMethod<K extends 'adjust' | 'block'>(
  store: RateLimitStore,
  method: K,
): NonNullable<RateLimitStore[K]> {
  const fn = store[method];
  if (typeof fn !== 'function') {
    throw new KeelOptionError(
      'rateLimit.store',
      `rateLimit: the "${store.kind}" store has no ${method}(), which ${method === 'adjust' ? 'penalize() and reward() need' : 'block() needs'}; use createRedisStore() or createMemoryStore() from @keel/rate-limit`,
    );
  }
  return fn.bind(store) as NonNullable<RateLimitStore[K]>;
}

/** The outcome as a key decision: charged (refundable), refused, peeked or failed. */
function keyDecision(c: LimiterConfig, key: string, units: number, o: Outcome): KeyDecision {
  if (o.kind === 'allowed') {
    if (o.charged) {
      return new ChargedKeyDecision(c.settings, o.source, key, units, o.list, o.store, o.charged);
    }
    const base = { allowed: true, reason: 'allowed', source: o.source, key, cost: units } as const;
    return plainKeyDecision({ ...base, policies: o.list });
  }
  if (o.kind === 'refused') {
    return plainKeyDecision({
      allowed: false,
      reason: o.reason,
      source: o.source,
      key,
      cost: units,
      policies: o.list,
      violated: o.violated,
      retryAfterMs: o.retryAfterMs,
    });
  }
  const failed = {
    reason: 'store-unavailable',
    source: 'failure-policy',
    key,
    cost: units,
    error: o.error,
  } as const;
  if (o.allowed) return plainKeyDecision({ ...failed, allowed: true });
  // An outage may be over in a second; a refused command or foreign data will not be.
  return plainKeyDecision({
    ...failed,
    allowed: false,
    retryAfterMs: isLasting(o.error) ? RETRY_NEVER : 1000,
  });
}

/** A store failure that waiting does not cure: a missing ACL right, foreign data under a key. */
export function isLasting(error: unknown): boolean {
  if (!isKeelError(error)) return false;
  return error.code === coreCodes.STORE_MISCONFIGURED || error.code === coreCodes.STORE_DATA;
}
