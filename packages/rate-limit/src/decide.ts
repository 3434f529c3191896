/**
 * The decision by key that every entry point shares — `consume(key)`, `peek(key)` and, through
 * the same path, `check(req)`: the deny cache, one store call for all policies (all or
 * nothing), the failure policy when the store cannot answer, and the events. No HTTP here: the
 * limiter turns an outcome into a key decision, or into headers and a response.
 */
import { isStoreFailure } from '@keel/core';
import { RETRY_NEVER } from './algorithms/types.js';
import { capacityOf, type RefusalReason } from './decision.js';
import { RateLimitStoreFullError } from './errors.js';
import type { DecisionSource } from './events.js';
import type { PolicyState } from './headers.js';
import type { LimiterConfig } from './options.js';
import type {
  AlgorithmDecision,
  RateLimitStore,
  StoreCheck,
  StoreCheckResult,
  StorePolicy,
  StoreRefund,
} from './types.js';

/** One decision's policies as the store sees them, and its deny-cache key. */
export interface DecisionPolicies {
  readonly policies: readonly StorePolicy[];
  readonly denyKey: string;
}

/** What the store (or the deny cache, or the failure policy) decided for a key. */
export type Outcome =
  | {
      readonly kind: 'allowed';
      readonly source: DecisionSource;
      readonly list: PolicyState[];
      readonly store: RateLimitStore;
      /** What to give back on `refund()`; undefined for a peek, which charged nothing. */
      readonly charged: StoreRefund | undefined;
    }
  | {
      readonly kind: 'refused';
      readonly source: DecisionSource;
      readonly list: PolicyState[];
      readonly reason: RefusalReason;
      readonly violated: string[];
      readonly retryAfterMs: number;
    }
  | { readonly kind: 'failed'; readonly allowed: boolean; readonly error: unknown };

/** Decide for `key`: charge `units` under every policy (all or none), or only look (`dryRun`). */
export async function decide(
  c: LimiterConfig,
  key: string,
  units: number,
  decisionPolicies: DecisionPolicies,
  dryRun: boolean,
): Promise<Outcome> {
  // A peek asks the store: the deny cache remembers refusals, not how many units are left.
  const cached = dryRun ? undefined : fromDenyCache(c, decisionPolicies.denyKey, units);
  if (cached) return refused(c, key, cached, 'deny-cache', dryRun);

  let used = c.store;
  let source: DecisionSource = 'store';
  let result: StoreCheckResult;
  const storeCheck: StoreCheck = dryRun
    ? { clientKey: key, cost: units, policies: decisionPolicies.policies, dryRun }
    : { clientKey: key, cost: units, policies: decisionPolicies.policies };
  try {
    result = await c.store.check(storeCheck);
  } catch (error) {
    if (!isStoreFailure(error) && !(error instanceof RateLimitStoreFullError)) throw error;
    const failed = failureOutcome(c, error, dryRun ? 'peek' : 'check');
    if (failed) return failed;
    used = c.fallbackStore!;
    source = 'fallback';
    result = await used.check(storeCheck);
  }

  const list = states(c, decisionPolicies.policies, result.decisions);
  if (!result.allowed) {
    const outcome = refused(c, key, list, source, dryRun);
    // Only a refusal with a retry time is worth remembering: a cost above the capacity is
    // refused by the store at once, and another request of the client may cost less.
    if (c.denyCache && source === 'store' && outcome.reason !== 'cost-exceeds-limit' && !dryRun) {
      const at = c.clock();
      c.denyCache.set(
        decisionPolicies.denyKey,
        { cost: units, at, policies: list },
        at + outcome.retryAfterMs,
      );
    }
    return outcome;
  }
  if (c.events.active && !dryRun) {
    c.events.emit('rate-limit.allowed', { limiter: c.name, key, source });
  }
  let charged: StoreRefund | undefined;
  if (!dryRun) {
    const receipts: number[] = [];
    for (const d of result.decisions) receipts.push(d.receipt);
    charged = { clientKey: key, cost: units, policies: decisionPolicies.policies, receipts };
  }
  return { kind: 'allowed', source, list, store: used, charged };
}

/** The remembered refusal of this client, aged to now; undefined when the store must decide. */
function fromDenyCache(
  c: LimiterConfig,
  denyKey: string,
  units: number,
): PolicyState[] | undefined {
  const cached = c.denyCache?.entry(denyKey);
  // A cost above some policy's capacity is not "limited until later": the store says so.
  if (!cached || units < cached.value.cost || units > capacityOf(cached.value.policies)) {
    return undefined;
  }
  const elapsed = c.clock() - cached.value.at;
  return cached.value.policies.map((p) => ({
    ...p,
    resetMs: Math.max(0, p.resetMs - elapsed),
    retryAfterMs: p.violated ? Math.max(1, p.retryAfterMs - elapsed) : 0,
  }));
}

function states(
  c: LimiterConfig,
  list: readonly StorePolicy[],
  decisions: readonly AlgorithmDecision[],
): PolicyState[] {
  // A loop, not map() with a spread: this runs on every decision.
  const states: PolicyState[] = [];
  for (let i = 0; i < decisions.length; i++) {
    const d = decisions[i]!;
    const p = list[i]!;
    const state: PolicyState = {
      name: c.policies[i]!.name,
      limit: p.limit,
      windowMs: p.windowMs,
      burst: p.burst,
      remaining: d.remaining,
      resetMs: d.resetMs,
      retryAfterMs: d.retryAfterMs,
      violated: !d.allowed,
    };
    states.push(d.blocked ? { ...state, blocked: d.blocked } : state);
  }
  return states;
}

function refused(
  c: LimiterConfig,
  key: string,
  list: PolicyState[],
  source: DecisionSource,
  dryRun: boolean,
): Extract<Outcome, { kind: 'refused' }> {
  const refusing = list.filter((p) => p.violated);
  const violated = refusing.map((p) => p.name);
  // One policy that can never grant this cost makes the request impossible, whatever the
  // others would allow later: no retry time is promised then (issue 12).
  const never = refusing.some((p) => p.retryAfterMs === RETRY_NEVER);
  const reason: RefusalReason = never
    ? 'cost-exceeds-limit'
    : refusing.some((p) => p.blocked)
      ? 'blocked'
      : 'limited';
  const retryAfterMs = never ? RETRY_NEVER : Math.max(1, ...refusing.map((p) => p.retryAfterMs));
  if (!dryRun) {
    const { events, name } = c;
    events.emit('rate-limit.limited', { limiter: name, key, policies: violated, source, reason });
    if (source !== 'deny-cache') {
      for (const p of refusing) {
        if (p.blocked !== 'started') continue;
        events.emit('rate-limit.blocked', {
          limiter: name,
          key,
          policy: p.name,
          durationMs: p.retryAfterMs,
          source: 'policy',
        });
      }
    }
  }
  return { kind: 'refused', source, list, reason, violated, retryAfterMs };
}

/** The failure policy's outcome, or `undefined` when the fallback store is to decide. */
function failureOutcome(
  c: LimiterConfig,
  error: unknown,
  operation: 'check' | 'peek',
): Outcome | undefined {
  const { failurePolicy, fallbackStore, events, name, store } = c;
  const policy = failurePolicy === 'fallback' && !fallbackStore ? 'open' : failurePolicy;
  events.emit(
    'rate-limit.store-failure',
    { limiter: name, operation, failurePolicy, store: store.kind },
    { error },
  );
  if (policy === 'fallback') return undefined;
  return { kind: 'failed', allowed: policy === 'open', error };
}
