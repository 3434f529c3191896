/**
 * The in-process store: the embedded default, the `fallback` limiter behind a Redis store, and
 * the reference the Redis store is compared with. It runs the algorithm units directly on a
 * bounded `ExpiringMap` that never evicts a live counter (resetting someone's limit to make
 * room would let them through), needs no timers, and forgets state when it expires.
 */
import { type Clock, ExpiringMap, systemClock, validatorFor } from '@keel/core';
import { algorithmUnit } from '../algorithms/index.js';
import type { AlgorithmDecision } from '../algorithms/types.js';
import { RateLimitStoreFullError } from '../errors.js';
import type {
  RateLimitStore,
  StoreCheck,
  StoreCheckResult,
  StorePolicy,
  StoreRefund,
} from '../types.js';

export interface MemoryStoreOptions {
  /**
   * Most counters kept (one per client and policy). When full of live counters, a check that
   * needs a new one fails with `RateLimitStoreFullError` and the limiter's failure policy
   * decides; expired counters make room first.
   * @default 100_000
   */
  maxEntries?: number;
  /** Millisecond clock; tests pass `createManualClock()` from @keel/core. @default Date.now */
  clock?: Clock;
}

const KNOWN = ['maxEntries', 'clock'] as const;

/** Joined key parts per (usually static) parts array, so the hot path does not re-join them. */
const joined = new WeakMap<readonly string[], string>();

/** The store's key: the policy's parts and the client key (no hashing needed in memory). */
function keyOf(clientKey: string, policy: StorePolicy): string {
  let parts = joined.get(policy.keyParts);
  if (parts === undefined) {
    parts = `${policy.keyParts.join(':')}\n`;
    joined.set(policy.keyParts, parts);
  }
  return parts + clientKey;
}

export function createMemoryStore(options: MemoryStoreOptions = {}): RateLimitStore {
  const v = validatorFor('createMemoryStore');
  v.knownOptions(options, KNOWN);
  const maxEntries = v.positiveInteger('maxEntries', options.maxEntries, 100_000);
  const clock = v.func<Clock>('clock', options.clock, systemClock);
  const map = new ExpiringMap<string, unknown>({ maxEntries, clock, evictLive: false });

  function checkSync({ clientKey, cost, policies }: StoreCheck): StoreCheckResult {
    const now = clock();
    const decisions: AlgorithmDecision[] = [];
    const writes: { key: string; next: unknown; expiresAt: number }[] = [];
    let allowed = true;
    for (const policy of policies) {
      const key = keyOf(clientKey, policy);
      const result = algorithmUnit(policy.algorithm).check(map.get(key), now, policy, cost);
      decisions.push(result.decision);
      if (result.decision.allowed)
        writes.push({ key, next: result.next, expiresAt: result.expiresAt });
      else allowed = false;
    }
    if (!allowed) {
      // Nothing is charged, so the policies that would have allowed it keep those units.
      const uncharged = decisions.map((d) =>
        d.allowed ? { ...d, remaining: d.remaining + cost } : d,
      );
      return { allowed, decisions: uncharged };
    }
    if (writes.length === 1) {
      const only = writes[0]!;
      if (!map.set(only.key, only.next, only.expiresAt))
        throw new RateLimitStoreFullError(maxEntries);
      return { allowed, decisions };
    }
    const previous: { key: string; entry: { value: unknown; expiresAt: number } | undefined }[] =
      [];
    for (const write of writes) {
      const entry = map.entry(write.key);
      if (!map.set(write.key, write.next, write.expiresAt)) {
        // All or nothing: put back what this check already wrote.
        for (const undo of previous) {
          if (undo.entry) map.set(undo.key, undo.entry.value, undo.entry.expiresAt);
          else map.delete(undo.key);
        }
        throw new RateLimitStoreFullError(maxEntries);
      }
      previous.push({
        key: write.key,
        entry: entry && { value: entry.value, expiresAt: entry.expiresAt },
      });
    }
    return { allowed, decisions };
  }

  function refundSync({ clientKey, cost, policies, receipts }: StoreRefund): void {
    const now = clock();
    policies.forEach((policy, i) => {
      const key = keyOf(clientKey, policy);
      const result = algorithmUnit(policy.algorithm).refund(
        map.get(key),
        now,
        policy,
        cost,
        receipts[i] ?? 0,
      );
      if (!result) return;
      // A refund can only free room, so this write never needs a new slot.
      if (result.expiresAt <= now) map.delete(key);
      else map.set(key, result.next, result.expiresAt);
    });
  }

  return {
    kind: 'memory',
    localKeys: true,
    check: (check) => {
      try {
        return Promise.resolve(checkSync(check));
      } catch (error) {
        return Promise.reject(error);
      }
    },
    refund: (refund) => {
      refundSync(refund);
      return Promise.resolve();
    },
    reset: ({ clientKey, policies }) => {
      for (const policy of policies) map.delete(keyOf(clientKey, policy));
      return Promise.resolve();
    },
  };
}
