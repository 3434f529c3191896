/**
 * The bounded, expiring map behind every memory store. It needs no timers (nothing keeps the
 * process alive), expires in O(1) amortised time, and stays within `maxEntries` and `maxBytes`:
 * - reads drop an expired entry when they meet it;
 * - every write also inspects the next few entries of a rolling cursor and drops expired ones,
 *   so every entry is looked at within O(size) writes;
 * - when full, it evicts the least recently used entry — or, with `evictLive: false` (rate-limit
 *   counters must never be evicted while live), refuses the write and says so.
 */
import type { Clock } from './clock.js';

export interface ExpiringMapOptions {
  /** Most entries kept. @default 10_000 */
  maxEntries?: number;
  /** Most bytes kept, as reported by the `size` argument of `set`. @default Infinity */
  maxBytes?: number;
  /** Whether a live entry may be evicted to make room. @default true */
  evictLive?: boolean;
  clock: Clock;
}

interface Entry<V> {
  value: V;
  /** Absolute expiry time (ms), `Infinity` for none. */
  expiresAt: number;
  size: number;
}

/** Entries inspected by the rolling cursor on each write. */
const SWEEP_PER_WRITE = 3;

export class ExpiringMap<K, V> {
  readonly maxEntries: number;
  readonly maxBytes: number;
  readonly evictLive: boolean;
  readonly #clock: Clock;
  readonly #entries = new Map<K, Entry<V>>();
  #bytes = 0;
  /** A lower bound of the earliest expiry, so a full map of live entries is not rescanned per write. */
  #earliestExpiry = Number.POSITIVE_INFINITY;
  #cursor: Iterator<[K, Entry<V>]> | undefined;

  constructor(options: ExpiringMapOptions) {
    this.maxEntries = options.maxEntries ?? 10_000;
    this.maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
    this.evictLive = options.evictLive ?? true;
    this.#clock = options.clock;
  }

  get size(): number {
    return this.#entries.size;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** The live value, or undefined. Does not change recency (see `touch`). */
  get(key: K): V | undefined {
    return this.entry(key)?.value;
  }

  /** The live value with its expiry time. */
  entry(key: K): { value: V; expiresAt: number } | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.#clock()) {
      this.#remove(key, entry);
      return undefined;
    }
    return entry;
  }

  /** Remaining time to live in ms: -2 when absent, -1 when it never expires (as PTTL answers). */
  ttl(key: K): number {
    const entry = this.entry(key);
    if (!entry) return -2;
    return entry.expiresAt === Number.POSITIVE_INFINITY ? -1 : entry.expiresAt - this.#clock();
  }

  /**
   * Store `value` until `expiresAt` (absolute ms, or Infinity). Returns false when the map is
   * full of live entries and may not evict them (nothing was written).
   */
  set(key: K, value: V, expiresAt: number, size = 0): boolean {
    this.#sweep();
    const previous = this.#entries.get(key);
    if (previous) this.#remove(key, previous);
    if (!this.#makeRoom(size)) {
      if (previous) this.#insert(key, previous);
      return false;
    }
    this.#insert(key, { value, expiresAt, size });
    return true;
  }

  /** Change the expiry of a live entry; false when absent. */
  expire(key: K, expiresAt: number): boolean {
    const entry = this.entry(key);
    if (!entry) return false;
    (entry as Entry<V>).expiresAt = expiresAt;
    if (expiresAt < this.#earliestExpiry) this.#earliestExpiry = expiresAt;
    return true;
  }

  /** Mark as recently used (moves it to the back of the eviction order). */
  touch(key: K): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    this.#entries.delete(key);
    this.#entries.set(key, entry);
  }

  delete(key: K): boolean {
    const entry = this.#entries.get(key);
    if (!entry) return false;
    this.#remove(key, entry);
    return entry.expiresAt > this.#clock();
  }

  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
    this.#earliestExpiry = Number.POSITIVE_INFINITY;
    this.#cursor = undefined;
  }

  /** Live entries, oldest first. Expired ones met on the way are dropped. */
  *entries(): IterableIterator<[K, V]> {
    const now = this.#clock();
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt <= now) this.#remove(key, entry);
      else yield [key, entry.value];
    }
  }

  #insert(key: K, entry: Entry<V>): void {
    this.#entries.set(key, entry);
    this.#bytes += entry.size;
    if (entry.expiresAt < this.#earliestExpiry) this.#earliestExpiry = entry.expiresAt;
  }

  #remove(key: K, entry: Entry<V>): void {
    this.#entries.delete(key);
    this.#bytes -= entry.size;
  }

  /** Advance the rolling cursor a few entries, dropping expired ones. */
  #sweep(): void {
    const now = this.#clock();
    for (let i = 0; i < SWEEP_PER_WRITE; i++) {
      this.#cursor ??= this.#entries.entries();
      const next = this.#cursor.next();
      if (next.done) {
        this.#cursor = undefined;
        return;
      }
      const [key, entry] = next.value;
      if (entry.expiresAt <= now) this.#remove(key, entry);
    }
  }

  #makeRoom(size: number): boolean {
    if (size > this.maxBytes) return false;
    const full = () => this.#entries.size >= this.maxEntries || this.#bytes + size > this.maxBytes;
    if (!full()) return true;
    // Expired entries go first, whatever their position; skip the scan while none can be.
    const now = this.#clock();
    if (now >= this.#earliestExpiry) {
      let earliest = Number.POSITIVE_INFINITY;
      for (const [key, entry] of this.#entries) {
        if (entry.expiresAt <= now) this.#remove(key, entry);
        else if (entry.expiresAt < earliest) earliest = entry.expiresAt;
      }
      this.#earliestExpiry = earliest;
      if (!full()) return true;
    }
    if (!this.evictLive) return false;
    for (const [key, entry] of this.#entries) {
      this.#remove(key, entry);
      if (!full()) return true;
    }
    return !full();
  }
}
