/**
 * The invalidation bus that keeps every instance's L1 coherent: Redis pub/sub on one channel
 * per key prefix, each message numbered by a counter in Redis (`publish-invalidation-1.lua`).
 *
 * - A message names primaries and tags by hash; receivers forget them in their L1.
 * - Generations, not clocks: a receiver that sees a number jump (`n > last + 1`) missed a
 *   message and clears its L1. After the subscriber reconnects it reads the counter and clears
 *   the L1 when the counter moved while it was away. Until that check is done, the L1 is off.
 * - The publisher applies its own invalidation locally before publishing, and ignores its own
 *   messages when they come back.
 */
import { randomBytes } from 'node:crypto';
import {
  createKeyspace,
  type KeelEvents,
  type RedisClient,
  type ScriptRunner,
  type StoreCaller,
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
}

export interface InvalidationBus {
  publish(message: InvalidationMessage): Promise<void>;
  /** Resolves once the subscriber is connected and the L1 resynchronised (for tests and warm-up). */
  ready(): Promise<void>;
  close(): Promise<void>;
}

const RESYNC_RETRY_MS = 1_000;
/** The generation counter expires after this long without invalidations, ms (30 days). */
const COUNTER_LIFETIME_MS = 30 * 86_400_000;

export function createInvalidationBus(init: BusInit): InvalidationBus {
  const { client, runner, call, l1, events } = init;
  const keys = createKeyspace(init.prefix, 'cache');
  const counterKey = keys.key('bus', 'generation');
  const channel = `${keys.prefix}bus`;
  const origin = randomBytes(9).toString('base64url');
  let last: number | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  let readyWaiters: (() => void)[] = [];

  // A connection of its own: a subscribed connection cannot send other commands. Commands
  // queue until connected (a subscriber must resubscribe after every reconnect).
  const subscriber = (
    'isCluster' in client && client.isCluster
      ? (client as import('ioredis').Cluster).duplicate(undefined, { enableOfflineQueue: true })
      : (client as import('ioredis').Redis).duplicate({
          enableOfflineQueue: true,
          lazyConnect: false,
        })
  ) as RedisClient;
  subscriber.on('error', () => {
    // Reported through the main client's listener; the bus only tracks health.
  });

  const down = () => {
    l1.healthy = false;
  };
  const markReady = () => {
    l1.healthy = true;
    const waiters = readyWaiters;
    readyWaiters = [];
    for (const resolve of waiters) resolve();
  };

  async function resync(): Promise<void> {
    clearTimeout(retry);
    if (closed) return;
    try {
      await subscriber.subscribe(channel);
      const value = await call('bus-generation', () => client.get(counterKey));
      const current = Number(value ?? 0);
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
    } catch {
      down();
      retry = setTimeout(() => void resync(), RESYNC_RETRY_MS);
      retry.unref();
    }
  }

  subscriber.on('message', (from: string, text: string) => {
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
  });
  subscriber.on('ready', () => void resync());
  subscriber.on('close', down);
  subscriber.on('reconnecting', down);
  subscriber.on('end', down);
  if (subscriber.status === 'ready') void resync();

  return {
    async publish(message) {
      const reply = await call('publish', () =>
        runner.run(
          publishInvalidation,
          [counterKey],
          [channel, JSON.stringify({ ...message, o: origin }), COUNTER_LIFETIME_MS],
        ),
      );
      decodeOk('publish-invalidation', reply);
    },
    ready() {
      if (l1.healthy) return Promise.resolve();
      return new Promise((resolve) => readyWaiters.push(resolve));
    },
    async close() {
      closed = true;
      clearTimeout(retry);
      down();
      for (const resolve of readyWaiters) resolve();
      readyWaiters = [];
      try {
        await subscriber.quit();
      } catch {
        subscriber.disconnect();
      }
    },
  };
}
