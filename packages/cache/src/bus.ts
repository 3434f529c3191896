/**
 * The invalidation bus that keeps every instance's L1 coherent: Redis pub/sub on one channel
 * per key prefix and database, each message numbered by a counter in Redis
 * (`publish-invalidation-1.lua`).
 *
 * - A message names primaries and tags by hash; receivers forget them in their L1.
 * - Generations, not clocks: a receiver that sees a number jump (`n > last + 1`) missed a
 *   message and clears its L1. After the subscriber reconnects it reads the counter and clears
 *   the L1 when the counter moved while it was away. Until that check is done, the L1 is off.
 * - The publisher applies its own invalidation locally before publishing, and ignores its own
 *   messages when they come back.
 * - Pub/sub ignores the database index (a message reaches every subscriber of the server), so
 *   the channel names the database: apps sharing a prefix on databases 3 and 4 share no keys,
 *   and must not clear each other's L1s.
 * - Redis may refuse the bus (an ACL user without the channel, `NOPERM`): the L1 then stays
 *   off — it cannot hear invalidations — and a one-shot `l1BusRefused` warning and a
 *   `cache.l1-refused` event say so, naming the ACL rule to add. Retries continue (slowly), so
 *   fixing the ACL turns the L1 on without a restart.
 */
import { randomBytes } from 'node:crypto';
import {
  classifyStoreError,
  createKeyspace,
  isKeelError,
  type KeelEvents,
  type KeelRedisClient,
  type KeelSubscriber,
  type ScriptRunner,
  type StoreCaller,
  type Warnings,
} from '@keel/core';
import type { L1 } from './l1.js';
import { publishInvalidation } from './scripts/generated.js';
import { decodeOk } from './status.js';

export interface InvalidationMessage {
  /** Primary keys, hashed. */
  k: string[];
  /** Tags, hashed. */
  t: string[];
}

export interface BusInit {
  client: KeelRedisClient;
  prefix: string;
  runner: ScriptRunner;
  call: StoreCaller;
  l1: L1;
  events: KeelEvents;
  warnings: Warnings;
}

export interface InvalidationBus {
  publish(message: InvalidationMessage): Promise<void>;
  /**
   * Resolves once the subscriber is connected and the L1 resynchronised (for tests and
   * warm-up), or once Redis refused the bus (the L1 then stays off: nothing to wait for).
   */
  ready(): Promise<void>;
  close(): Promise<void>;
}

/** The bus channel of a prefix on the client's database (always 0 on a Cluster). */
export function busChannel(prefix: string, client: KeelRedisClient): string {
  return `${createKeyspace(prefix, 'cache').prefix}bus:${client.database}`;
}

/** True when Redis refused the command for good (ACL, unknown command), not for now. */
function isRefusal(error: unknown): boolean {
  if (isKeelError(error)) return error.code === 'KEEL_ERR_STORE_MISCONFIGURED';
  return classifyStoreError(error) === 'misconfigured';
}

const RESYNC_RETRY_MS = 1_000;
/** Longest pause between retries while Redis refuses the bus, ms. */
const REFUSED_RETRY_MAX_MS = 30_000;
/** The generation counter expires after this long without invalidations, ms (30 days). */
const COUNTER_LIFETIME_MS = 30 * 86_400_000;

export function createInvalidationBus(init: BusInit): InvalidationBus {
  return new RedisInvalidationBus(init);
}

type BusCommand = 'SUBSCRIBE' | 'GET' | 'PUBLISH';

class RedisInvalidationBus implements InvalidationBus {
  readonly #init: BusInit;
  readonly #keyFamily: string;
  readonly #counterKey: string;
  readonly #channel: string;
  readonly #origin = randomBytes(9).toString('base64url');
  readonly #subscriber: KeelSubscriber;
  /** The last generation seen: from a message, or read from Redis after a (re)subscribe. */
  #last: number | undefined;
  #closed = false;
  #retry: NodeJS.Timeout | undefined;
  #readyWaiters: (() => void)[] = [];
  /** Set while Redis refuses the bus: the retry pause, growing up to REFUSED_RETRY_MAX_MS. */
  #refusedPauseMs: number | undefined;

  constructor(init: BusInit) {
    this.#init = init;
    const keyspace = createKeyspace(init.prefix, 'cache');
    this.#keyFamily = keyspace.prefix;
    this.#counterKey = keyspace.key('bus', 'generation');
    this.#channel = busChannel(init.prefix, init.client);
    const subscriber = init.client.subscriber();
    this.#subscriber = subscriber;
    const down = () => this.#down();
    subscriber.on('message', (from: string, text: string) => this.#onMessage(from, text));
    subscriber.on('ready', () => void this.#resync());
    subscriber.on('down', down);
    if (subscriber.status === 'ready') void this.#resync();
  }

  async publish(message: InvalidationMessage): Promise<void> {
    const { call, runner } = this.#init;
    const args = [
      this.#channel,
      JSON.stringify({ ...message, o: this.#origin }),
      COUNTER_LIFETIME_MS,
    ];
    try {
      // Not guarded by the caller's deadline, unlike fills: a message that goes out late only
      // makes L1s forget more, and is better than none (the store is already invalidated;
      // the caller was told it failed and may not retry).
      await call('publish', async () =>
        decodeOk(
          'publish-invalidation',
          await runner.run(publishInvalidation, [this.#counterKey], args),
        ),
      );
    } catch (error) {
      // The store is invalidated; only the L1s cannot be told. Their subscriptions are refused
      // too (same ACL), so they are off; a rejection here would only turn every
      // set/delete/invalidate into an error the application cannot fix by retrying.
      if (!isRefusal(error)) throw error;
      this.#refused('PUBLISH', error);
    }
  }

  ready(): Promise<void> {
    if (this.#init.l1.healthy || this.#refusedPauseMs !== undefined) return Promise.resolve();
    return new Promise((resolve) => this.#readyWaiters.push(resolve));
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    this.#down();
    this.#release();
    await this.#subscriber.quit();
  }

  #down(): void {
    this.#init.l1.healthy = false;
  }

  #release(): void {
    const waiters = this.#readyWaiters;
    this.#readyWaiters = [];
    for (const resolve of waiters) resolve();
  }

  #markReady(): void {
    this.#init.l1.healthy = true;
    this.#refusedPauseMs = undefined;
    this.#release();
  }

  /** Subscribe, then compare the generation counter with the last one seen. */
  async #resync(): Promise<void> {
    clearTimeout(this.#retry);
    if (this.#closed) return;
    const { client, call, l1, events } = this.#init;
    try {
      await this.#subscriber.subscribe(this.#channel);
    } catch (error) {
      return this.#failed('SUBSCRIBE', error);
    }
    let current: number;
    try {
      current = Number(
        (await call('bus-generation', () => client.call('GET', this.#counterKey))) ?? 0,
      );
    } catch (error) {
      return this.#failed('GET', error);
    }
    const last = this.#last;
    if (last !== undefined && current !== last) {
      l1.clear();
      events.emit('cache.l1-resync', {
        reason: 'reconnect',
        fromGeneration: last,
        toGeneration: current,
      });
    }
    this.#last = Math.max(last ?? 0, current);
    if (this.#subscriber.status === 'ready') this.#markReady();
  }

  /** The L1 stays off; try again soon after an outage, ever more slowly while refused. */
  #failed(command: 'SUBSCRIBE' | 'GET', error: unknown): void {
    this.#down();
    let pauseMs = RESYNC_RETRY_MS;
    if (isRefusal(error)) {
      if (this.#refusedPauseMs === undefined) this.#refused(command, error);
      pauseMs = Math.min((this.#refusedPauseMs ?? RESYNC_RETRY_MS / 2) * 2, REFUSED_RETRY_MAX_MS);
      this.#refusedPauseMs = pauseMs;
      // Nothing to wait for: the L1 stays off until the ACL changes.
      this.#release();
    }
    this.#retry = setTimeout(() => void this.#resync(), pauseMs);
    this.#retry.unref();
  }

  /** Report (per episode; per message for PUBLISH) and warn (once per cache) that Redis refused the bus. */
  #refused(command: BusCommand, error: unknown): void {
    this.#init.events.emit('cache.l1-refused', { command }, { error });
    const reply = error instanceof Error ? error.message : String(error);
    const effect =
      command === 'PUBLISH'
        ? "other instances' L1s are not told about invalidations (each entry stays at most l1.ttlMs)"
        : "this instance's L1 stays off (it could not hear invalidations)";
    this.#init.warnings.warn(
      'l1BusRefused',
      `createCache: Redis refused the L1 invalidation bus's ${command} (${reply}), so ${effect}. Grant the Redis user the channel and the counter key, e.g. ACL SETUSER <user> &${this.#channel} ~${this.#keyFamily}* (see the @keel/cache README, "On production Redis"), or set l1: false.`,
    );
  }

  #onMessage(from: string, text: string): void {
    if (from !== this.#channel) return;
    const { l1, events } = this.#init;
    const space = text.indexOf(' ');
    const generation = Number(text.slice(0, space));
    let message: InvalidationMessage & { o?: string };
    const last = this.#last;
    try {
      message = JSON.parse(text.slice(space + 1)) as InvalidationMessage & { o?: string };
    } catch (error) {
      // An invalidation we cannot read (a foreign publisher, a version skew) is a missed one:
      // it may have named any key, so the whole L1 goes, as for a gap.
      l1.clear();
      events.emit(
        'cache.l1-resync',
        { reason: 'gap', fromGeneration: last ?? generation, toGeneration: generation },
        { error },
      );
      if (Number.isSafeInteger(generation)) this.#last = generation;
      return;
    }
    // A jump means missed messages; a smaller number means the counter expired and restarted.
    if (last !== undefined && (generation > last + 1 || generation < last)) {
      l1.clear();
      events.emit('cache.l1-resync', {
        reason: 'gap',
        fromGeneration: last,
        toGeneration: generation,
      });
    } else if (message.o !== this.#origin) {
      l1.invalidate(message.k ?? [], message.t ?? []);
    }
    this.#last = generation;
  }
}
