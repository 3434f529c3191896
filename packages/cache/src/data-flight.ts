/**
 * `cache.wrap`'s cache-aside: one flight per key in this process (its leader looks up, and on a
 * miss loads and writes), one filler per key across processes (the engine's gate), stale values
 * served while one refresh runs or when the loader fails.
 */
import type { Lock } from '@keel/lock';
import type { WrapConfig } from './cache-options.js';
import {
  type CacheEngine,
  NO_VARIANT,
  storeFailureReason,
  TIMED_OUT,
  type WaitGate,
} from './engine.js';
import { type CachedEntry, freshness } from './entry.js';
import type { EntryRef } from './types.js';
import { dataMeta, decodeValue, type Encoded, encodeValue } from './value-codec.js';

/** A value for the caller, and what finishes after it (the write the flight waits for). */
interface Loaded<T> {
  value: T;
  done: Promise<unknown>;
}

/** Where a fill's value goes once loaded. */
interface PendingWrite {
  ref: EntryRef;
  gen: string;
  opts: WrapConfig;
  versions: Record<string, string> | undefined;
  sequence: number;
  lock: Lock | undefined;
}

const DONE: Promise<unknown> = Promise.resolve();

export class DataFlights {
  readonly #engine: CacheEngine;

  constructor(engine: CacheEngine) {
    this.#engine = engine;
  }

  /** The cached value of `key` (primary `id`), or the loader's, at most one load at a time. */
  async wrap<T>(
    key: string,
    id: string,
    loader: () => T | Promise<T>,
    opts: WrapConfig,
  ): Promise<T> {
    const engine = this.#engine;
    const inL1 = engine.peek({ id, vary: '', variant: '' }, opts.tags);
    if (inL1 && freshness(inL1.entry.meta, inL1.entry.ageMs).fresh) {
      this.countHit('l1', id, inL1.entry.ageMs);
      return decodeValue(inL1.entry) as T;
    }
    // One lookup and at most one loader call per key in this process at a time.
    const flightKey = `d\n${id}`;
    const current = engine.flight<T>(flightKey);
    if (current) {
      engine.counters.collapsed++;
      engine.events.emit('cache.miss', { key: id, collapsed: true });
      const result = await engine.waitFlight(current);
      return result === TIMED_OUT ? loader() : result;
    }
    const flight = engine.startFlight<T>(flightKey, id, opts.tags);
    try {
      const { value, done } = await this.#lead(key, id, loader, opts);
      flight.resolve(value);
      // Callers arriving until the write has landed share this flight's value.
      void done.finally(() => engine.endFlight(flightKey, flight));
      return value;
    } catch (error) {
      engine.endFlight(flightKey, flight);
      flight.reject(error);
      throw error;
    }
  }

  countHit(layer: 'l1' | 'store', id: string, ageMs: number): void {
    const engine = this.#engine;
    engine.counters.hits++;
    if (layer === 'l1') engine.counters.l1Hits++;
    if (engine.events.active) engine.events.emit('cache.hit', { key: id, layer, ageMs });
  }

  /** The flight leader's part: one lookup, then the value (hit, stale, or loaded). */
  async #lead<T>(
    key: string,
    id: string,
    loader: () => T | Promise<T>,
    opts: WrapConfig,
  ): Promise<Loaded<T>> {
    const engine = this.#engine;
    const found = await engine.lookup(id, NO_VARIANT, opts.tags);
    let stale: CachedEntry | undefined;
    let gen = '';
    if (found.kind === 'found') {
      const { entry } = found;
      const state = freshness(entry.meta, entry.ageMs);
      if (state.fresh) {
        this.countHit(found.layer, id, entry.ageMs);
        return { value: decodeValue(entry) as T, done: DONE };
      }
      gen = entry.gen;
      if (state.revalidate) {
        // Serve stale now; one refresh (per process: this flight; per cluster: the lock).
        const done = this.#revalidate(key, found.ref, gen, loader, opts);
        return { value: this.#stale(found.ref, entry, 'stale-while-revalidate') as T, done };
      }
      if (state.ifError) stale = entry;
    } else if (found.kind === 'miss') {
      gen = found.gen;
    } else {
      // Store failed (down, full, busy, refused, foreign data): still one loader call per
      // key in this process, nothing written.
      engine.counters.bypasses++;
      engine.events.emit('cache.bypass', { key: id, reason: storeFailureReason(found.error) });
      return { value: await loader(), done: DONE };
    }
    engine.counters.misses++;
    engine.events.emit('cache.miss', { key: id, collapsed: false });
    const gate = await engine.gate(found.ref, NO_VARIANT, opts.tags, 'wait');
    return this.#fill(key, found.ref, gen, gate, loader, opts, stale);
  }

  /** Stale-while-revalidate's refresh, unless another process is already filling the key. */
  async #revalidate<T>(
    key: string,
    ref: EntryRef,
    gen: string,
    loader: () => T | Promise<T>,
    opts: WrapConfig,
  ): Promise<unknown> {
    try {
      const gate = await this.#engine.gate(ref, NO_VARIANT, opts.tags, 'skip');
      if (gate.kind === 'busy') return undefined;
      const outcome = await this.#fill(key, ref, gen, gate, loader, opts, undefined);
      return await outcome.done;
    } catch (error) {
      this.#engine.events.emit('cache.error', { operation: 'revalidate' }, { error });
      return undefined;
    }
  }

  /** Past the gate: another process's entry, its failure, or this caller loads and writes. */
  async #fill<T>(
    key: string,
    ref: EntryRef,
    gen: string,
    gate: WaitGate,
    loader: () => T | Promise<T>,
    opts: WrapConfig,
    stale: CachedEntry | undefined,
  ): Promise<Loaded<T>> {
    const engine = this.#engine;
    if (gate.kind === 'found') {
      engine.counters.collapsed++;
      return { value: decodeValue(gate.found.entry) as T, done: DONE };
    }
    if (gate.kind === 'failed' && stale) {
      return { value: this.#stale(ref, stale, 'stale-if-error') as T, done: DONE };
    }
    const lock = gate.kind === 'lead' ? gate.lock : undefined;
    const sequence = engine.sequence;
    const tagged = await engine.ensureTags(opts.tags);
    const versions = 'versions' in tagged ? tagged.versions : undefined;
    return this.#load(key, loader, stale, { ref, gen, opts, versions, sequence, lock });
  }

  /** Run the loader (racing `timeoutMs` when a stale value can stand in), then write. */
  async #load<T>(
    key: string,
    loader: () => T | Promise<T>,
    stale: CachedEntry | undefined,
    pending: PendingWrite,
  ): Promise<Loaded<T>> {
    const engine = this.#engine;
    const { ref, opts, lock } = pending;
    let value: T;
    try {
      const loading = Promise.resolve().then(loader);
      if (stale && opts.timeoutMs !== undefined) {
        const raced = await raceTimeout(loading, opts.timeoutMs);
        if (raced === TIMED_OUT) {
          // Serve stale now; the loader goes on and refreshes the entry when it finishes.
          const done = loading.then(
            (late) => this.#write(pending, this.#encodeLate(key, late)),
            (error: unknown) => {
              engine.release(lock);
              engine.events.emit('cache.error', { operation: 'revalidate' }, { error });
            },
          );
          return { value: this.#stale(ref, stale, 'stale-if-error') as T, done };
        }
        value = raced;
      } else {
        value = await loading;
      }
    } catch (error) {
      engine.release(lock);
      void engine.mark(ref, 'failed');
      if (stale) return { value: this.#stale(ref, stale, 'stale-if-error') as T, done: DONE };
      throw error;
    }
    // An encoding error reaches the caller; the write itself never rejects.
    let encoded: Encoded | undefined;
    try {
      encoded = value === undefined ? undefined : encodeValue(key, value);
    } catch (error) {
      engine.release(lock);
      throw error;
    }
    return { value, done: this.#write(pending, encoded) };
  }

  /** A late value nobody awaits: an encoding error is reported, not thrown. */
  #encodeLate(key: string, value: unknown): Encoded | undefined {
    try {
      return value === undefined ? undefined : encodeValue(key, value);
    } catch (error) {
      this.#engine.events.emit('cache.error', { operation: 'revalidate' }, { error });
      return undefined;
    }
  }

  /** Write the loaded value (never rejects: the engine reports a failed write) and release. */
  async #write(pending: PendingWrite, encoded: Encoded | undefined): Promise<void> {
    const { ref, gen, opts, versions, sequence, lock } = pending;
    try {
      if (!encoded || versions === undefined) return;
      const meta = dataMeta(opts, encoded, versions);
      await this.#engine.write(ref, gen, meta, encoded.body, sequence);
    } finally {
      this.#engine.release(lock);
    }
  }

  #stale(ref: EntryRef, entry: CachedEntry, reason: 'stale-while-revalidate' | 'stale-if-error') {
    this.#engine.counters.stale++;
    this.#engine.events.emit('cache.stale', { key: ref.id, reason, ageMs: entry.ageMs });
    return decodeValue(entry);
  }
}

async function raceTimeout<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
