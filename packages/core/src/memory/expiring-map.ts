/**
 * The bounded, expiring map behind every memory store. It expires in O(1) amortised time, stays
 * within `maxEntries` and `maxBytes`, and gives memory back when the process goes idle:
 * - reads drop an expired entry when they meet it;
 * - every write also inspects the next few entries of a rolling cursor and drops expired ones,
 *   so every entry is looked at within O(size) writes;
 * - while it holds entries that can expire, an unref'd timer (it never keeps the process alive)
 *   advances the same cursor by a bounded number of entries per tick, so expired entries leave
 *   without new writes: an idle process returns its peak memory. The timer holds the map only
 *   weakly, and stops when nothing is left to expire;
 * - when full, it evicts the least recently used entry — or, with `evictLive: false` (rate-limit
 *   counters must never be evicted while live), refuses the write and says so.
 */
import { validatorFor } from '../validate.js';
import type { Clock } from './clock.js';

export interface ExpiringMapOptions {
  /** Most entries kept. @default 10_000 */
  maxEntries?: number;
  /** Most bytes kept, as reported by the `size` argument of `set`. @default Infinity */
  maxBytes?: number;
  /** Whether a live entry may be evicted to make room. @default true */
  evictLive?: boolean;
  /**
   * Background sweep period, ms: each tick inspects at most 10,000 entries. `false` turns it off
   * (expired entries then leave only as reads and writes meet them). @default 1000
   */
  sweepIntervalMs?: number | false;
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
/**
 * Entries inspected per background tick: 0.2 ms to look at 10,000 live entries, ~2 ms to drop
 * 10,000 expired ones (measured on a million-entry map, Node 20), so a tick never stalls the
 * event loop, and a map of a million entries is swept within 100 s of going idle.
 */
export const SWEEP_PER_TICK = 10_000;

/** The background timer's hold on a map: weak, so a map its owner dropped can be collected. */
interface Sweeper {
  readonly map: WeakRef<{ sweep(limit?: number): number }>;
  timer: NodeJS.Timeout | undefined;
}

function sweepTick(sweeper: Sweeper): void {
  const map = sweeper.map.deref();
  if (map === undefined) clearInterval(sweeper.timer);
  else map.sweep(SWEEP_PER_TICK);
}

export class ExpiringMap<K, V> {
  readonly maxEntries: number;
  readonly maxBytes: number;
  readonly evictLive: boolean;
  readonly sweepIntervalMs: number | false;
  readonly #clock: Clock;
  readonly #entries = new Map<K, Entry<V>>();
  #bytes = 0;
  /** A lower bound of the earliest expiry, so a full map of live entries is not rescanned per write. */
  #earliestExpiry = Number.POSITIVE_INFINITY;
  #cursor: Iterator<[K, Entry<V>]> | undefined;
  /** The earliest expiry seen by the cursor's current pass (and by writes during it). */
  #passEarliest = Number.POSITIVE_INFINITY;
  #sweeper: Sweeper | undefined;

  constructor(options: ExpiringMapOptions) {
    this.maxEntries = options.maxEntries ?? 10_000;
    this.maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
    this.evictLive = options.evictLive ?? true;
    const interval = options.sweepIntervalMs;
    this.sweepIntervalMs =
      interval === false
        ? false
        : validatorFor('expiringMap').positiveInteger('sweepIntervalMs', interval, 1000, 'ms');
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

  /**
   * The live value with its expiry time. `now`: the caller's reading of the map's clock, when
   * it has one (reading the clock costs about as much as the lookup).
   */
  entry(key: K, now = this.#clock()): { value: V; expiresAt: number } | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= now) {
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
   * full of live entries and may not evict them (nothing was written). `now` as for `entry`.
   */
  set(key: K, value: V, expiresAt: number, size = 0, now = this.#clock()): boolean {
    this.#advance(SWEEP_PER_WRITE, now);
    const previous = this.#entries.get(key);
    // Without LRU eviction the order means nothing: rewrite the record where it stands (one
    // hash lookup, no new record), unless it grows past the byte budget. A caller that keeps
    // a record from `entry()` across a `set` of the same key copies what it needs first.
    if (previous && !this.evictLive && size - previous.size <= this.maxBytes - this.#bytes) {
      this.#bytes += size - previous.size;
      previous.value = value;
      previous.expiresAt = expiresAt;
      previous.size = size;
      this.#noteExpiry(expiresAt);
      return true;
    }
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
    this.#noteExpiry(expiresAt);
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
    this.#passEarliest = Number.POSITIVE_INFINITY;
    this.#stopSweeper();
  }

  /**
   * Drop expired entries, inspecting at most `limit` of them from where the last sweep stopped.
   * The background timer calls it; it costs O(1) while no entry can have expired yet. Returns
   * how many entries it dropped.
   */
  sweep(limit = SWEEP_PER_TICK): number {
    const now = this.#clock();
    if (now < this.#earliestExpiry && this.#cursor === undefined) {
      // Nothing can have expired. With nothing left that ever expires, the timer has no work.
      if (this.#earliestExpiry === Number.POSITIVE_INFINITY) this.#stopSweeper();
      return 0;
    }
    const before = this.#entries.size;
    this.#advance(limit, now);
    if (this.#entries.size === 0) this.#stopSweeper();
    return before - this.#entries.size;
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
    this.#noteExpiry(entry.expiresAt);
  }

  /** Keep the expiry bounds below every live entry's, and a timer running while any can expire. */
  #noteExpiry(expiresAt: number): void {
    if (expiresAt < this.#earliestExpiry) this.#earliestExpiry = expiresAt;
    if (expiresAt < this.#passEarliest) this.#passEarliest = expiresAt;
    if (expiresAt !== Number.POSITIVE_INFINITY && this.#sweeper === undefined) {
      this.#startSweeper();
    }
  }

  #startSweeper(): void {
    if (this.sweepIntervalMs === false) return;
    const sweeper: Sweeper = { map: new WeakRef(this), timer: undefined };
    sweeper.timer = setInterval(sweepTick, this.sweepIntervalMs, sweeper);
    sweeper.timer.unref();
    this.#sweeper = sweeper;
  }

  #stopSweeper(): void {
    if (this.#sweeper === undefined) return;
    clearInterval(this.#sweeper.timer);
    this.#sweeper = undefined;
  }

  #remove(key: K, entry: Entry<V>): void {
    this.#entries.delete(key);
    this.#bytes -= entry.size;
  }

  /**
   * Advance the rolling cursor up to `limit` entries, dropping expired ones. A pass that reaches
   * the end has seen every entry (Map iteration also visits entries added during it, and writes
   * report their expiry to the pass), so its earliest expiry becomes the map's lower bound.
   */
  #advance(limit: number, now: number): void {
    let passesEnded = 0;
    for (let i = 0; i < limit; i++) {
      if (this.#cursor === undefined) {
        this.#cursor = this.#entries.entries();
        this.#passEarliest = Number.POSITIVE_INFINITY;
      }
      const next = this.#cursor.next();
      if (next.done) {
        this.#cursor = undefined;
        this.#earliestExpiry = this.#passEarliest;
        // Wrap around once to use the rest of the budget; never circle a small map twice.
        if (++passesEnded === 2 || now < this.#earliestExpiry) return;
        continue;
      }
      const [key, entry] = next.value;
      if (entry.expiresAt <= now) this.#remove(key, entry);
      else if (entry.expiresAt < this.#passEarliest) this.#passEarliest = entry.expiresAt;
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
