/**
 * Fencing tokens only rise, across every way Redis loses data (issue 23): a restart without
 * persistence, an evicted (here: deleted) counter, FLUSHALL. Each case runs while a first
 * holder still holds its lock and believes it does; the second holder's token must exceed the
 * first's. A private redis-server per file, so FLUSHALL and restarts touch nobody else.
 */
import { createEvents, createKeyspace, createRedisClient, type RedisClient } from '@keel/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  closeClient,
  type RedisServer,
  startRedisServer,
  testPrefix,
} from '../../../../test/support/index.js';
import { createLock, type Lock, type LockManager, ScriptStatus } from '../../src/index.js';
import { createRedisLockStore } from '../../src/stores/redis.js';
import { ready } from './support.js';

let server: RedisServer;
let client: RedisClient;
beforeAll(async () => {
  server = await startRedisServer();
  client = createRedisClient({
    url: server.url,
    maxReconnectDelayMs: 20,
    events: createEvents(() => {}), // restarts are the point: keep their errors quiet
  });
  await ready(client);
});
afterAll(async () => {
  await closeClient(client as never);
  await server.stop();
});

/** A lock manager on this file's server, and a first holder that has seen a few tokens go by. */
async function firstHolder(): Promise<{ locks: LockManager; prefix: string; first: Lock }> {
  const prefix = testPrefix();
  const locks = createLock({ client, prefix, deadlineMs: 1_000 });
  for (let i = 0; i < 5; i++) await (await locks.acquire('ledger')).release();
  const first = await locks.acquire('ledger', { ttlMs: 60_000 });
  return { locks, prefix, first };
}

const keysOf = (prefix: string) => {
  const ks = createKeyspace(prefix, 'lock');
  return { owner: ks.key('ledger', 'owner'), fence: ks.key('ledger', 'fence') };
};

describe('fencing tokens across data loss', () => {
  it('a restart without persistence', async () => {
    const { locks, prefix, first } = await firstHolder();
    await server.restart();
    await ready(client);
    expect(await client.exists(keysOf(prefix).fence)).toBe(0); // the counter is gone
    const second = await locks.acquire('ledger', { ttlMs: 60_000 });
    expect(first.isHeld()).toBe(true);
    expect(second.fencingToken).toBeGreaterThan(first.fencingToken);
    await second.release();
  });

  it('an evicted counter and lock (both keys gone, as allkeys-* eviction does)', async () => {
    const { locks, prefix, first } = await firstHolder();
    const keys = keysOf(prefix);
    expect(await client.del(keys.owner, keys.fence)).toBe(2);
    const second = await locks.acquire('ledger', { ttlMs: 60_000 });
    expect(first.isHeld()).toBe(true);
    expect(second.fencingToken).toBeGreaterThan(first.fencingToken);
    await second.release();
  });

  it('an evicted counter alone: the next holder still gets a larger token', async () => {
    const { locks, prefix, first } = await firstHolder();
    expect(await client.del(keysOf(prefix).fence)).toBe(1);
    expect(await first.release()).toBe(true);
    const second = await locks.acquire('ledger', { ttlMs: 60_000 });
    expect(second.fencingToken).toBeGreaterThan(first.fencingToken);
    await second.release();
  });

  it('an evicted counter under a retried acquisition: "already ours" with a new, larger token', async () => {
    const prefix = testPrefix();
    const store = createRedisLockStore(client, {
      prefix,
      deadlineMs: 1_000,
      events: createEvents(),
    });
    const first = await store.acquire('ledger', 'token-a', 60_000);
    expect(first.status).toBe(ScriptStatus.OK);
    await client.del(keysOf(prefix).fence);
    // The same owner token again (its first reply was lost): not a counter restarted at 0.
    const retried = await store.acquire('ledger', 'token-a', 60_000);
    expect(retried.status).toBe(ScriptStatus.ALREADY_OURS);
    expect(retried.fence).toBeGreaterThan(first.fence);
    expect(await client.get(keysOf(prefix).fence)).toBe(String(retried.fence));
    // And while the counter is there, a retry is told the same token, without moving it.
    expect(await store.acquire('ledger', 'token-a', 60_000)).toMatchObject({
      fence: retried.fence,
    });
    expect(await store.release('ledger', 'token-a')).toBe(ScriptStatus.OK);
  });

  it('FLUSHALL', async () => {
    const { locks, first } = await firstHolder();
    await client.flushall();
    const second = await locks.acquire('ledger', { ttlMs: 60_000 });
    expect(first.isHeld()).toBe(true);
    expect(second.fencingToken).toBeGreaterThan(first.fencingToken);
    await second.release();
  });
});
