/**
 * Bulk calls where connect-redis goes wrong: on a 3-master Cluster (SCAN on every master, no
 * cross-slot MGET/DEL), under an ioredis `keyPrefix`, and `clear()` with an empty prefix.
 */
import { SessionStore } from '@keel/express';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cleanupPrefix,
  createTestCluster,
  createTestRedis,
  redisUrl,
  testPrefix,
} from '../support/index.js';

const cookie = () => ({
  originalMaxAge: 60_000,
  expires: new Date(Date.now() + 60_000),
  httpOnly: true,
  path: '/',
});

describe('bulk calls', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
  });

  it('finds, reads and clears sessions on every master of a Cluster', async () => {
    const cluster = await createTestCluster();
    const prefix = testPrefix();
    cleanups.push(
      () => cleanupPrefix(cluster, prefix),
      () => cleanupPrefix(cluster, `{${prefix}`),
    );
    const store = new SessionStore({ client: cluster, prefix, scanCount: 10 });
    const ids = Array.from({ length: 60 }, (_, i) => `c${i}`);
    await Promise.all(ids.map((id) => store.set(id, { cookie: cookie(), n: id } as never)));
    // The ids really are spread over the masters.
    const perMaster = await Promise.all(
      cluster.nodes('master').map(async (node) => (await node.keys(`${prefix}*`)).length),
    );
    expect(perMaster.filter((count) => count > 0).length).toBe(3);
    expect(await store.length()).toBe(60);
    expect(((await store.ids()) as string[]).sort()).toEqual([...ids].sort());
    const all = (await store.all()) as unknown as { id: string; n: string }[];
    expect(all.every((s) => s.id === s.n)).toBe(true);
    expect(all).toHaveLength(60);
    const indexed = new SessionStore({ client: cluster, prefix, index: true });
    await indexed.set('c0', { cookie: cookie(), n: 'c0' } as never);
    expect(await indexed.length()).toBe(1); // the index only knows what was written through it
    await store.clear();
    expect(await store.length()).toBe(0);
    const left = await Promise.all(
      cluster.nodes('master').map(async (node) => (await node.keys(`*${prefix}*`)).length),
    );
    expect(left.reduce((a, b) => a + b, 0)).toBe(0);
  });

  it.each(['standalone', 'cluster'])('respects an ioredis keyPrefix (%s)', async (topology) => {
    const keyPrefix = testPrefix();
    const raw = topology === 'cluster' ? await createTestCluster() : createTestRedis();
    cleanups.push(
      () => cleanupPrefix(raw, keyPrefix),
      () => cleanupPrefix(raw, `{${keyPrefix}`),
    );
    const client =
      topology === 'cluster'
        ? await createTestCluster({ keyPrefix })
        : createTestRedis({ keyPrefix });
    const store = new SessionStore({ client });
    await store.set('k1', { cookie: cookie(), user: 'ann' } as never);
    await store.set('k2', { cookie: cookie(), user: 'bob' } as never);
    expect(await raw.exists(`${keyPrefix}sess:k1`)).toBe(1);
    expect(await raw.exists(`${keyPrefix}{${keyPrefix}sess:k1}:meta`)).toBe(1);
    expect(((await store.ids()) as string[]).sort()).toEqual(['k1', 'k2']);
    expect(await store.get('k1')).toMatchObject({ user: 'ann' });
    await store.destroy('k1');
    expect(await store.length()).toBe(1);
    await store.clear();
    expect(await raw.exists(`${keyPrefix}sess:k2`)).toBe(0);
  });

  it('refuses clear() with an empty prefix', async () => {
    const client = new Redis(redisUrl(), { lazyConnect: true });
    cleanups.push(async () => client.disconnect());
    const store = new SessionStore({ client, prefix: '' });
    await expect(store.clear()).rejects.toMatchObject({ code: 'KEEL_ERR_SESSION_CLEAR_REFUSED' });
    await new Promise<void>((resolve) =>
      store.clear((error) => {
        expect(error).toMatchObject({ code: 'KEEL_ERR_SESSION_CLEAR_REFUSED' });
        resolve();
      }),
    );
  });
});
