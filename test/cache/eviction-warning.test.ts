/**
 * The cache tolerates any eviction policy, its fill lock included: on an `allkeys-lru` Redis
 * (the usual cache-only deployment) it warns about nothing, and does not silence the warning
 * an application's own lock gets. A file of its own: the warning is once per process.
 */
import { createCache } from '@keel/cache';
import type { KeelEvent } from '@keel/core';
import { createLock } from '@keel/lock';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  createTestRedis,
  type RedisServer,
  startRedisServer,
  testPrefix,
} from '../support/index.js';
import { eventually } from './apps.js';

let server: RedisServer;

beforeAll(async () => {
  server = await startRedisServer({
    args: ['--maxmemory', '64mb', '--maxmemory-policy', 'allkeys-lru'],
  });
});

afterAll(async () => {
  await server?.stop();
});

it('no eviction warning for the cache or its fill lock; an application lock still gets one', async () => {
  const client = createTestRedis({ url: server.url, enableOfflineQueue: false });
  const warningsOf = (events: KeelEvent[]) =>
    events.flatMap((e) => (e.name === 'keel.warning' ? [e.attributes] : []));
  const prefix = testPrefix();
  const cacheEvents: KeelEvent[] = [];
  const cache = createCache({ client, prefix, events: (e) => cacheEvents.push(e) });
  // A miss takes the fill lock: the lock store is built and reads the policy.
  expect(await cache.wrap('k', () => 1)).toBe(1);
  const appEvents: KeelEvent[] = [];
  const lock = createLock({ client, prefix, events: (e) => appEvents.push(e) });
  const held = await lock.tryAcquire('orders');
  await held?.release();
  await eventually(() => warningsOf(appEvents).length > 0);
  expect(warningsOf(appEvents)).toEqual([
    expect.objectContaining({
      warning: 'evictionPolicy',
      message: expect.stringMatching(/^\[keel\] lock: /),
    }),
  ]);
  expect(warningsOf(cacheEvents)).toEqual([]);
});
