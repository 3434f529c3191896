/**
 * The in-process store: the embedded default, for one process (tests, development, a single
 * instance). Each method is one synchronous step on a bounded {@link ExpiringMap}, and replies
 * with the same status tuples as the Lua scripts, decoded by the same functions, so both stores
 * decide identically (the conformance suite checks it).
 */
import {
  type Clock,
  codes as coreCodes,
  ENTRY_OVERHEAD_BYTES,
  ExpiringMap,
  exactCopy,
  flatString,
  KeelError,
  optionNames,
  systemClock,
  validatorFor,
} from '@keel/core';
import { decodeAcquire, decodeTransition, FenceCode, ScriptStatus } from '../status.js';
import type { AcquireRequest, Completion, IdempotencyStore } from '../types.js';

export interface MemoryIdempotencyStoreOptions {
  /** Most records kept; past it the least recently used one is evicted. @default 10_000 */
  maxEntries?: number;
  /**
   * Most bytes records keep alive (bodies, headers, ids and a fixed cost per record, as
   * measured on Node's heap); at least 4096. @default 67_108_864 (64 MiB)
   */
  maxBytes?: number;
  /** Millisecond clock; tests pass `createManualClock()` to move time. @default Date.now */
  clock?: Clock;
}

interface MemoryRecord {
  state: 'p' | 'c' | 'n';
  fp: string;
  token: string;
  /** Absolute lease end, ms. */
  lease: number;
  status?: number;
  headers?: string;
  body?: Buffer;
}

const KNOWN = optionNames<MemoryIdempotencyStoreOptions>({
  maxEntries: true,
  maxBytes: true,
  clock: true,
});

/** The store's options, parsed and validated once. */
interface MemoryIdempotencyStoreConfig {
  readonly maxEntries: number;
  readonly maxBytes: number;
  readonly clock: Clock;
}

/** Validate the options; invalid ones throw `KeelOptionError` naming what to change. */
function parseMemoryStoreOptions(
  options: MemoryIdempotencyStoreOptions,
): MemoryIdempotencyStoreConfig {
  const v = validatorFor('createMemoryIdempotencyStore');
  v.knownOptions(options, KNOWN);
  const clock = v.func<Clock>('clock', options.clock, systemClock);
  const maxEntries = v.positiveInteger('maxEntries', options.maxEntries, 10_000);
  const maxBytes = v.integerInRange(
    'maxBytes',
    options.maxBytes,
    64 * 1024 * 1024,
    4096,
    Number.MAX_SAFE_INTEGER,
    'bytes',
  );
  return { maxEntries, maxBytes, clock };
}

/** An in-memory {@link IdempotencyStore}: per process, bounded, swept by an unref'd timer. */
export function createMemoryIdempotencyStore(
  options: MemoryIdempotencyStoreOptions = {},
): IdempotencyStore {
  return new MemoryIdempotencyStore(parseMemoryStoreOptions(options));
}

/**
 * The public methods are own properties (arrow functions), as they were on the object this
 * class replaces, so a store can still be spread into a wrapper or its methods passed unbound.
 * Each private step transliterates the Lua script of the same name.
 */
class MemoryIdempotencyStore implements IdempotencyStore {
  readonly kind = 'memory';
  readonly #clock: Clock;
  readonly #records: ExpiringMap<string, MemoryRecord>;

  constructor({ maxEntries, maxBytes, clock }: MemoryIdempotencyStoreConfig) {
    this.#clock = clock;
    this.#records = new ExpiringMap<string, MemoryRecord>({ maxEntries, maxBytes, clock });
  }

  readonly acquire: IdempotencyStore['acquire'] = async (req) => decodeAcquire(this.#acquire(req));

  readonly complete: IdempotencyStore['complete'] = async (record, token, completion, ttlMs) =>
    decodeTransition('complete-record', this.#complete(record, token, completion, ttlMs));

  readonly release: IdempotencyStore['release'] = async (record, token) =>
    decodeTransition('release-claim', this.#release(record, token));

  readonly renew: IdempotencyStore['renew'] = async (record, token, leaseMs, retentionMs) =>
    decodeTransition('renew-lease', this.#renew(record, token, leaseMs, retentionMs));

  #write(key: string, r: MemoryRecord, ttlMs: number): boolean {
    return this.#records.set(key, r, this.#clock() + ttlMs, sizeOf(key, r));
  }

  #acquire(req: AcquireRequest): unknown[] {
    const records = this.#records;
    const key = id(req.record);
    const r = records.get(key);
    const now = this.#clock();
    if (!r) {
      const fresh: MemoryRecord = {
        state: 'p',
        // Flat: a token from randomUUID() is a rope of ~20 nodes (~500 bytes) until read.
        fp: flatString(req.fingerprint),
        token: flatString(req.token),
        lease: now + req.leaseMs,
      };
      return this.#write(key, fresh, req.retentionMs) ? [ScriptStatus.CLAIMED] : storeFull();
    }
    records.touch(key);
    if (r.fp !== req.fingerprint) return [ScriptStatus.MISMATCH];
    if (r.state === 'c') return [ScriptStatus.REPLAY, r.status, r.headers, r.body];
    if (r.state === 'n') return [ScriptStatus.NOT_STORED, r.status];
    if (r.token === req.token) return [ScriptStatus.CLAIMED];
    const left = r.lease - now;
    if (left > 0) return [ScriptStatus.IN_FLIGHT, left];
    r.token = flatString(req.token);
    r.lease = now + req.leaseMs;
    records.expire(key, now + req.retentionMs);
    return [ScriptStatus.TAKEN_OVER, -left];
  }

  #complete(record: string, token: string, completion: Completion, retentionMs: number): unknown[] {
    const key = id(record);
    const r = this.#records.get(key);
    if (!r || r.token !== token) return fenced(r);
    if (r.state !== 'p') return [ScriptStatus.OK];
    const done: MemoryRecord = completion.stored
      ? {
          ...r,
          state: 'c',
          status: completion.response.status,
          headers: flatString(JSON.stringify(completion.response.headers)),
          // Exact-size memory of its own: a pooled copy would keep a whole 8 KiB slab alive.
          body: exactCopy(completion.response.body),
        }
      : { ...r, state: 'n', status: completion.status };
    // A response larger than the whole store is kept as "not stored" rather than dropped.
    if (!this.#write(key, done, retentionMs)) {
      this.#write(key, { ...r, state: 'n', status: done.status as number }, retentionMs);
    }
    return [ScriptStatus.OK];
  }

  #release(record: string, token: string): unknown[] {
    const key = id(record);
    const r = this.#records.get(key);
    if (r?.state === 'p' && r.token === token) {
      this.#records.delete(key);
      return [ScriptStatus.OK];
    }
    return fenced(r);
  }

  #renew(record: string, token: string, leaseMs: number, retentionMs: number): unknown[] {
    const key = id(record);
    const r = this.#records.get(key);
    if (r?.state === 'p' && r.token === token) {
      const now = this.#clock();
      r.lease = now + leaseMs;
      this.#records.expire(key, now + retentionMs);
      return [ScriptStatus.OK];
    }
    return fenced(r);
  }
}

/** Record ids are the engine's hashes already; a memory map has no slots to protect. */
function id(record: string): string {
  return record;
}

/**
 * What a record keeps alive: its strings, its body's memory and the objects around them (core's
 * measured per-entry cost), so maxBytes bounds real memory.
 */
function sizeOf(key: string, r: MemoryRecord): number {
  return (
    ENTRY_OVERHEAD_BYTES +
    key.length +
    r.fp.length +
    r.token.length +
    (r.headers?.length ?? 0) +
    (r.body?.buffer.byteLength ?? 0)
  );
}

function fenced(r: MemoryRecord | undefined): unknown[] {
  if (!r) return [ScriptStatus.FENCED, FenceCode.GONE];
  return [ScriptStatus.FENCED, r.state === 'p' ? FenceCode.TAKEN_OVER : FenceCode.COMPLETED];
}

function storeFull(): never {
  // Unreachable: a claim (no body) is far below the 4096-byte minimum of maxBytes.
  throw new KeelError(coreCodes.INTERNAL, 'memory idempotency store refused a claim');
}
