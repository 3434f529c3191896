/**
 * Under `maxmemory-policy allkeys-lru`, Redis evicts a held lock and its fencing counter under
 * memory pressure (issue 23): the lock warns once (`evictionPolicy`), and a second holder that
 * takes the evicted lock still gets a larger fencing token than the first, who still holds it.
 *
 * Its own file: the warning is once per process, so no other lock may be created before it.
 */
import { createEvents, createKeyspace, createRedisClient, type KeelEvent } from '@keel/core';
import type { Redis } from 'ioredis';
import { afterEach, expect, it } from 'vitest';
import {
  closeClient,
  createTestRedis,
  type RedisServer,
  startRedisServer,
  testPrefix,
} from '../../../../test/support/index.js';
import { createLock } from '../../src/index.js';
import { attributesOf, ready } from './support.js';

let server: RedisServer | undefined;
afterEach(async () => {
  await server?.stop();
});

async function until(check: () => boolean | Promise<boolean>, tries = 100): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return false;
}

it('allkeys-lru: one warning, and a lock evicted under its holder is retaken with a larger token', async () => {
  server = await startRedisServer({
    args: ['--maxmemory', '4mb', '--maxmemory-policy', 'allkeys-lru'],
  });
  const client = createRedisClient({ url: server.url, events: createEvents(() => {}) }) as Redis;
  try {
    await ready(client);
    const seen: KeelEvent[] = [];
    const prefix = testPrefix();
    const locks = createLock({
      client,
      prefix,
      deadlineMs: 1_000,
      events: createEvents((event) => seen.push(event)),
    });
    for (let i = 0; i < 5; i++) await (await locks.acquire('ledger')).release();
    const first = await locks.acquire('ledger', { ttlMs: 60_000 });
    const warned = () =>
      seen
        .flatMap((e) => attributesOf(e, 'keel.warning') ?? [])
        .filter((w) => w.warning === 'evictionPolicy');
    expect(await until(() => warned().length > 0)).toBe(true);
    expect(warned()[0]!.message).toMatch(/allkeys-lru.*granted to a second holder/);

    // Memory pressure from other keys, until both of the lock's keys are evicted (EXISTS does
    // not touch a key's LRU clock). Bounded: ~100 MB written through a 4 MB Redis at most.
    const ks = createKeyspace(prefix, 'lock');
    const keys = [ks.key('ledger', 'owner'), ks.key('ledger', 'fence')];
    const filler = createTestRedis({ url: server.url });
    const value = 'x'.repeat(16 * 1024);
    let batch = 0;
    const evicted = await until(async () => {
      const pipeline = filler.pipeline();
      for (let i = 0; i < 100; i++) pipeline.set(`filler:${batch}:${i}`, value);
      await pipeline.exec();
      batch++;
      return (await filler.exists(...keys)) === 0;
    }, 64);
    expect(evicted).toBe(true);

    const second = await locks.acquire('ledger', { ttlMs: 60_000 });
    expect(first.isHeld()).toBe(true); // two holders: what the warning was about
    expect(second.fencingToken).toBeGreaterThan(first.fencingToken);
    expect(warned()).toHaveLength(1);
  } finally {
    await closeClient(client);
  }
});
