/**
 * The in-process store: the embedded default, the `fallback` limiter behind a Redis store, and
 * the reference the Redis store is compared with. It runs the algorithm units directly on a
 * bounded `ExpiringMap`, forgets state when it expires, and stays within `maxEntries` counters
 * and `maxBytes`. When it is full of live counters it keeps counting newcomers: it evicts the
 * counters nearest to expiry (see evict.ts), warns once (`memoryStoreFull`) and emits
 * `rate-limit.evicted`. Refusing newcomers instead would let a client that rotates keys turn
 * the limit off for every client it has not seen.
 */
import {
  type Clock,
  createWarnings,
  ExpiringMap,
  type KeelEventListener,
  type KeelEvents,
  optionNames,
  systemClock,
  toEvents,
  validatorFor,
  type WarningSwitches,
  type Warnings,
} from '@keel/core';
import { adjustPolicy, BlockState, checkPolicy, refundPolicy } from '../algorithms/block.js';
import type { AlgorithmDecision } from '../algorithms/types.js';
import { RateLimitStoreFullError } from '../errors.js';
import '../events.js';
import type {
  RateLimitStore,
  StoreAdjust,
  StoreBlock,
  StoreCheck,
  StoreCheckResult,
  StorePolicy,
  StoreRefund,
} from '../types.js';
import { soonestToExpire } from './evict.js';

export interface MemoryStoreOptions {
  /**
   * Most counters kept (one per client and policy). When full of live counters, the ones
   * nearest to expiry are evicted to make room (expired ones go first).
   * @default 100_000
   */
  maxEntries?: number;
  /**
   * Most bytes the counters may retain, as estimated per counter (a sliding log costs 8 bytes
   * per unit it remembers; see the README for each algorithm's measured cost). Beyond it, the
   * counters nearest to expiry are evicted as for `maxEntries`. @default 67_108_864 (64 MiB)
   */
  maxBytes?: number;
  /** Millisecond clock; tests pass `createManualClock()` from @keel/core. @default Date.now */
  clock?: Clock;
  /** Receives `rate-limit.evicted` and the `memoryStoreFull` warning. */
  events?: KeelEvents | KeelEventListener;
  /** Turn the `memoryStoreFull` warning off (`{ memoryStoreFull: false }`), or all with `false`. */
  warnings?: WarningSwitches | undefined;
}

/** The memory store, with what it holds (for metrics and tests). */
export interface MemoryRateLimitStore extends RateLimitStore {
  readonly kind: 'memory';
  /** Counters held (expired ones may linger until a read or write meets them). */
  readonly size: number;
  /** Bytes the counters retain, as the store estimates them against `maxBytes`. */
  readonly bytes: number;
}

const KNOWN = optionNames<MemoryStoreOptions>({
  maxEntries: true,
  maxBytes: true,
  clock: true,
  events: true,
  warnings: true,
});

/**
 * Estimated bytes of one counter besides its key's characters and its state: the Map slot, the
 * map's entry record and the key string's header. With {@link STATE_BYTES} or a sliding log's
 * array, within 3% of what `bench/rate-limit-memory.ts` measures after GC (V8, Node 20).
 */
export const COUNTER_BYTES = 160;
/** The state object of a window or bucket algorithm (two or three numbers). */
const STATE_BYTES = 64;
/** A sliding log's array: its headers, plus 8 bytes per remembered unit (a double each). */
const ARRAY_BYTES = 32;

/** A full store evicts this share of its counters at once (1%), so it scans once per batch. */
const EVICT_SHARE = 0.01;

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

/**
 * A state as kept: a sliding log copied at its exact length, because a log grown by `push`
 * keeps up to half again as much spare capacity (a third of its bytes, measured), and a store
 * of 100,000 logs is where that adds up. `slice()` allocates exactly what it copies.
 */
function kept(state: unknown): unknown {
  return Array.isArray(state) ? state.slice() : state;
}

function sizeOf(key: string, state: unknown): number {
  const held = Array.isArray(state) ? ARRAY_BYTES + 8 * state.length : STATE_BYTES;
  return COUNTER_BYTES + key.length + held;
}

interface Write {
  key: string;
  next: unknown;
  expiresAt: number;
  /**
   * What the key held before this check, to put back if the check cannot be written: copied,
   * because the map rewrites a record in place.
   */
  had: boolean;
  previousValue: unknown;
  previousExpiresAt: number;
}

/** A write of `next` over what `key` holds now (`previous`, the map's live record or nothing). */
function write(
  key: string,
  next: unknown,
  expiresAt: number,
  previous: { value: unknown; expiresAt: number } | undefined,
): Write {
  return previous
    ? {
        key,
        next,
        expiresAt,
        had: true,
        previousValue: previous.value,
        previousExpiresAt: previous.expiresAt,
      }
    : { key, next, expiresAt, had: false, previousValue: undefined, previousExpiresAt: 0 };
}

/** A synchronous step as a promise: its error a rejection, never a throw from an async API. */
function attempt(step: () => void): Promise<void> {
  try {
    step();
    return Promise.resolve();
  } catch (error) {
    return Promise.reject(error);
  }
}

/** The store's options, parsed and validated once. */
interface MemoryStoreConfig {
  readonly maxEntries: number;
  readonly maxBytes: number;
  readonly clock: Clock;
  readonly events: KeelEvents;
  readonly warnings: Warnings;
}

/** Validate the options; invalid ones throw `KeelOptionError` naming what to change. */
function parseMemoryStoreOptions(options: MemoryStoreOptions): MemoryStoreConfig {
  const v = validatorFor('createMemoryStore');
  v.knownOptions(options, KNOWN);
  const maxEntries = v.positiveInteger('maxEntries', options.maxEntries, 100_000);
  const maxBytes = v.integerInRange(
    'maxBytes',
    options.maxBytes,
    64 * 1024 * 1024,
    64 * 1024,
    Number.MAX_SAFE_INTEGER,
    'bytes, at least 65536',
  );
  const clock = v.func<Clock>('clock', options.clock, systemClock);
  const events = toEvents(options.events);
  const warnings = createWarnings({ switches: options.warnings, events });
  return { maxEntries, maxBytes, clock, events, warnings };
}

export function createMemoryStore(options: MemoryStoreOptions = {}): MemoryRateLimitStore {
  return new MemoryStore(parseMemoryStoreOptions(options));
}

/**
 * The store's public methods are own properties (arrow functions), as they were on the object
 * this class replaces, so a store can still be spread or its methods passed around unbound.
 */
class MemoryStore implements MemoryRateLimitStore {
  readonly kind = 'memory' as const;
  readonly localKeys = true;
  readonly #config: MemoryStoreConfig;
  readonly #map: ExpiringMap<string, unknown>;

  constructor(config: MemoryStoreConfig) {
    this.#config = config;
    const { maxEntries, maxBytes, clock } = config;
    this.#map = new ExpiringMap<string, unknown>({ maxEntries, maxBytes, clock, evictLive: false });
  }

  get size(): number {
    return this.#map.size;
  }

  get bytes(): number {
    return this.#map.bytes;
  }

  readonly check = (check: StoreCheck): Promise<StoreCheckResult> => {
    try {
      return Promise.resolve(this.#check(check));
    } catch (error) {
      return Promise.reject(error);
    }
  };

  readonly refund = (refund: StoreRefund): Promise<void> => {
    this.#refund(refund);
    return Promise.resolve();
  };

  readonly reset = ({
    clientKey,
    policies,
  }: Pick<StoreCheck, 'clientKey' | 'policies'>): Promise<void> => {
    for (const policy of policies) this.#map.delete(keyOf(clientKey, policy));
    return Promise.resolve();
  };

  readonly adjust = (adjustment: StoreAdjust): Promise<void> =>
    attempt(() => this.#adjust(adjustment));

  readonly block = (block: StoreBlock): Promise<void> => attempt(() => this.#block(block));

  #check({ clientKey, cost, policies, dryRun }: StoreCheck): StoreCheckResult {
    const map = this.#map;
    const now = this.#config.clock();
    const decisions: AlgorithmDecision[] = [];
    const writes: Write[] = [];
    let blocks: Write[] | undefined;
    let allowed = true;
    for (const policy of policies) {
      const key = keyOf(clientKey, policy);
      const previous = map.entry(key, now);
      const result = checkPolicy(previous?.value, now, policy, cost);
      decisions.push(result.decision);
      if (result.decision.allowed)
        writes.push(write(key, kept(result.next), result.expiresAt, previous));
      else allowed = false;
      if (result.block) {
        blocks ??= [];
        blocks.push(write(key, result.block, result.expiresAt, previous));
      }
    }
    if (!allowed) {
      // The blocks this refusal starts are written although nothing is charged.
      if (blocks && !dryRun) this.#commit(blocks, now);
      // Nothing is charged, so the policies that would have allowed it keep those units.
      const uncharged = decisions.map((d) =>
        d.allowed ? { ...d, remaining: d.remaining + cost } : d,
      );
      return { allowed, decisions: uncharged };
    }
    if (!dryRun) this.#commit(writes, now);
    return { allowed, decisions };
  }

  #adjust({ clientKey, units, policies }: StoreAdjust): void {
    const map = this.#map;
    const now = this.#config.clock();
    const writes: Write[] = [];
    for (const policy of policies) {
      const key = keyOf(clientKey, policy);
      const previous = map.entry(key, now);
      const result = adjustPolicy(previous?.value, now, policy, units);
      if (!result) continue;
      if (result.expiresAt <= now) map.delete(key);
      else writes.push(write(key, kept(result.next), result.expiresAt, previous));
    }
    this.#commit(writes, now);
  }

  #block({ clientKey, policies, durationMs }: StoreBlock): void {
    const now = this.#config.clock();
    const until = now + durationMs;
    const block = new BlockState(until);
    this.#commit(
      policies.map((policy) => {
        const key = keyOf(clientKey, policy);
        return write(key, block, until, this.#map.entry(key, now));
      }),
      now,
    );
  }

  #refund({ clientKey, cost, policies, receipts }: StoreRefund): void {
    const map = this.#map;
    const now = this.#config.clock();
    policies.forEach((policy, i) => {
      const key = keyOf(clientKey, policy);
      const result = refundPolicy(map.get(key), now, policy, cost, receipts[i] ?? 0);
      if (!result) return;
      // A refund can only free room, so this write never needs a new slot.
      if (result.expiresAt <= now) map.delete(key);
      else map.set(key, kept(result.next), result.expiresAt, sizeOf(key, result.next));
    });
  }

  /** Write, evicting the counters nearest to expiry while there is no room. */
  #commit(writes: readonly Write[], now: number): void {
    while (!this.#writeAll(writes, now)) {
      // Only a check needing more room than the whole store can end here.
      if (this.#evict(writes.length) === 0) {
        throw new RateLimitStoreFullError(this.#config.maxEntries, this.#config.maxBytes);
      }
    }
  }

  /** Write every allowed policy's state, or none: false when there is no room. */
  #writeAll(writes: readonly Write[], now: number): boolean {
    const map = this.#map;
    for (let i = 0; i < writes.length; i++) {
      const write = writes[i] as Write;
      if (map.set(write.key, write.next, write.expiresAt, sizeOf(write.key, write.next), now))
        continue;
      // All or nothing: put back what this check already wrote.
      for (const undo of writes.slice(0, i)) {
        const { key, previousValue } = undo;
        if (undo.had)
          map.set(key, previousValue, undo.previousExpiresAt, sizeOf(key, previousValue));
        else map.delete(key);
      }
      return false;
    }
    return true;
  }

  /** Evict the counters nearest to expiry: at least `needed`, else 1% of them. */
  #evict(needed: number): number {
    const { maxEntries, maxBytes, warnings, events } = this.#config;
    const batch = Math.max(needed, Math.ceil(this.#map.size * EVICT_SHARE));
    const victims = soonestToExpire(this.#expiries(), batch);
    for (const key of victims) this.#map.delete(key);
    if (victims.length === 0) return 0;
    warnings.warn(
      'memoryStoreFull',
      `the rate-limit memory store is full (maxEntries ${maxEntries}, maxBytes ${maxBytes}): it now evicts the counters nearest to expiry to count new clients, so a client whose counter is evicted starts afresh. Raise maxEntries/maxBytes or use the Redis store`,
    );
    events.emit('rate-limit.evicted', {
      store: 'memory',
      evicted: victims.length,
      maxEntries,
      maxBytes,
    });
    return victims.length;
  }

  *#expiries(): Iterable<[string, number]> {
    const map = this.#map;
    for (const [key] of map.entries()) {
      const entry = map.entry(key);
      if (entry) yield [key, entry.expiresAt];
    }
  }
}
