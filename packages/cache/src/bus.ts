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
  isCluster,
  isKeelError,
  type KeelEvents,
  type RedisClient,
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
  client: RedisClient;
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
export function busChannel(prefix: string, client: RedisClient): string {
  const db = isCluster(client) ? 0 : (client.options.db ?? 0);
  return `${createKeyspace(prefix, 'cache').prefix}bus:${db}`;
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

/**
 * A connection of its own: a subscribed connection cannot send other commands. Commands queue
 * until connected (a subscriber must resubscribe after every reconnect).
 */
function subscriberOf(client: RedisClient): RedisClient {
  const subscriber = isCluster(client)
    ? client.duplicate(undefined, { enableOfflineQueue: true })
    : client.duplicate({ enableOfflineQueue: true, lazyConnect: false });
  subscriber.on('error', () => {
    // Reported through the main client's listener; the bus only tracks health.
  });
  return subscriber;
}

export function createInvalidationBus(init: BusInit): InvalidationBus {
  const { client, runner, call, l1, events, warnings } = init;
  const keyspace = createKeyspace(init.prefix, 'cache');
  const keyFamily = keyspace.prefix;
  const counterKey = keyspace.key('bus', 'generation');
  const channel = busChannel(init.prefix, client);
  const origin = randomBytes(9).toString('base64url');
  const subscriber = subscriberOf(client);
  let last: number | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  let readyWaiters: (() => void)[] = [];
  /** Set while Redis refuses the bus: the retry pause, growing up to REFUSED_RETRY_MAX_MS. */
  let refusedPauseMs: number | undefined;

  const down = () => {
    l1.healthy = false;
  };
  const release = () => {
    const waiters = readyWaiters;
    readyWaiters = [];
    for (const resolve of waiters) resolve();
  };
  const markReady = () => {
    l1.healthy = true;
    refusedPauseMs = undefined;
    release();
  };

  /** Warn (once per cache) and report (once per episode) that Redis refused the bus. */
  function refused(command: 'SUBSCRIBE' | 'GET' | 'PUBLISH', error: unknown): void {
    events.emit('cache.l1-refused', { command }, { error });
    const reply = error instanceof Error ? error.message : String(error);
    const effect =
      command === 'PUBLISH'
        ? "other instances' L1s are not told about invalidations (each entry stays at most l1.ttlMs)"
        : "this instance's L1 stays off (it could not hear invalidations)";
    warnings.warn(
      'l1BusRefused',
      `createCache: Redis refused the L1 invalidation bus's ${command} (${reply}), so ${effect}. Grant the Redis user the channel and the counter key, e.g. ACL SETUSER <user> &${channel} ~${keyFamily}* (see the @keel/cache README, "On production Redis"), or set l1: false.`,
    );
  }

  function failed(command: 'SUBSCRIBE' | 'GET', error: unknown): void {
    down();
    let pauseMs = RESYNC_RETRY_MS;
    if (isRefusal(error)) {
      if (refusedPauseMs === undefined) refused(command, error);
      pauseMs = Math.min((refusedPauseMs ?? RESYNC_RETRY_MS / 2) * 2, REFUSED_RETRY_MAX_MS);
      refusedPauseMs = pauseMs;
      // Nothing to wait for: the L1 stays off until the ACL changes.
      release();
    }
    retry = setTimeout(() => void resync(), pauseMs);
    retry.unref();
  }

  async function resync(): Promise<void> {
    clearTimeout(retry);
    if (closed) return;
    try {
      await subscriber.subscribe(channel);
    } catch (error) {
      return failed('SUBSCRIBE', error);
    }
    let current: number;
    try {
      current = Number((await call('bus-generation', () => client.get(counterKey))) ?? 0);
    } catch (error) {
      return failed('GET', error);
    }
    if (last !== undefined && current !== last) {
      l1.clear();
      events.emit('cache.l1-resync', {
        reason: 'reconnect',
        fromGeneration: last,
        toGeneration: current,
      });
    }
    last = Math.max(last ?? 0, current);
    if (subscriber.status === 'ready') markReady();
  }

  function onMessage(from: string, text: string): void {
    if (from !== channel) return;
    const space = text.indexOf(' ');
    const generation = Number(text.slice(0, space));
    let message: InvalidationMessage & { o?: string };
    try {
      message = JSON.parse(text.slice(space + 1)) as InvalidationMessage & { o?: string };
    } catch {
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
    } else if (message.o !== origin) {
      l1.invalidate(message.k ?? [], message.t ?? []);
    }
    last = generation;
  }

  subscriber.on('message', onMessage);
  subscriber.on('ready', () => void resync());
  subscriber.on('close', down);
  subscriber.on('reconnecting', down);
  subscriber.on('end', down);
  if (subscriber.status === 'ready') void resync();

  return {
    async publish(message) {
      const payload = JSON.stringify({ ...message, o: origin });
      try {
        // Not guarded by the caller's deadline, unlike fills: a message that goes out late
        // only makes L1s forget more, and is better than none (the store is already
        // invalidated; the caller was told it failed and may not retry).
        await call('publish', async () =>
          decodeOk(
            'publish-invalidation',
            await runner.run(
              publishInvalidation,
              [counterKey],
              [channel, payload, COUNTER_LIFETIME_MS],
            ),
          ),
        );
      } catch (error) {
        // The store is invalidated; only the L1s cannot be told. Their subscriptions are
        // refused too (same ACL), so they are off; a rejection here would only turn every
        // set/delete/invalidate into an error the application cannot fix by retrying.
        if (!isRefusal(error)) throw error;
        refused('PUBLISH', error);
      }
    },
    ready() {
      if (l1.healthy || refusedPauseMs !== undefined) return Promise.resolve();
      return new Promise((resolve) => readyWaiters.push(resolve));
    },
    async close() {
      closed = true;
      clearTimeout(retry);
      down();
      release();
      try {
        await subscriber.quit();
      } catch {
        subscriber.disconnect();
      }
    },
  };
}
