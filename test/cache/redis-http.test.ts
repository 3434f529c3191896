/**
 * The response cache on real Redis, both frameworks: stampedes in one process and across two
 * app instances, a blackholed Redis, and tag invalidation reaching another instance's L1.
 */
import { type Cache, createCache, type ResponseCacheOptions } from '@keel/cache';
import { createManualClock, type ManualClock } from '@keel/core';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import {
  cleanupPrefix,
  createTestRedis,
  redisUrl,
  startFaultProxy,
  testPrefix,
} from '../support/index.js';
import { eventually, frameworks, type Handler, listen } from './apps.js';

/** A connected client without an offline queue (as createRedisClient() makes them). */
async function connected(url = redisUrl()): Promise<Redis> {
  const client = createTestRedis({ url, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
  return client;
}

describe.each(frameworks)('%s response cache on Redis', (_name, makeApp) => {
  async function instance(
    prefix: string,
    clock: ManualClock,
    handler: Handler,
    options: ResponseCacheOptions & { l1?: boolean; url?: string; deadlineMs?: number } = {},
  ) {
    const { l1, url, deadlineMs, ...routeOptions } = options;
    const client = await connected(url);
    const cache: Cache = createCache({
      client,
      prefix,
      clockForTests: clock,
      ...(l1 ? { l1: true } : {}),
      ...(deadlineMs ? { deadlineMs } : {}),
    });
    await cache.ready();
    const server = await listen(makeApp({ cache, ...routeOptions }, handler));
    return { cache, client, server };
  }

  it('1,000 concurrent misses on one key make one origin call', async () => {
    const prefix = testPrefix();
    const clock = createManualClock();
    let calls = 0;
    let cache: Cache | undefined;
    const app = await instance(prefix, clock, async () => {
      calls++;
      // Hold the origin until every other request has joined this one.
      await eventually(() => (cache?.stats().collapsed ?? 0) >= 999, 15_000);
      return { json: { products: [1, 2, 3] } };
    });
    cache = app.cache;
    try {
      const responses = await Promise.all(
        Array.from({ length: 1_000 }, () => fetch(`${app.server.url}/catalogue`)),
      );
      expect(responses.every((r) => r.status === 200)).toBe(true);
      expect(calls).toBe(1);
      const statuses = new Set(responses.map((r) => r.headers.get('cache-status')));
      expect(statuses).toEqual(new Set(['keel; fwd=miss', 'keel; fwd=miss; collapsed']));
    } finally {
      await app.server.close();
      await cleanupPrefix(app.client, prefix);
    }
  });

  it('two app instances on one Redis make one origin call per key per TTL', async () => {
    const prefix = testPrefix();
    const clock = createManualClock();
    let calls = 0;
    const handler: Handler = async () => {
      calls++;
      await new Promise((resolve) => setTimeout(resolve, 100));
      return { json: { n: calls } };
    };
    const a = await instance(prefix, clock, handler, { ttlMs: 10_000 });
    const b = await instance(prefix, clock, handler, { ttlMs: 10_000 });
    const burst = () =>
      Promise.all(
        Array.from({ length: 100 }, (_, i) => fetch(`${(i % 2 ? a : b).server.url}/item`)),
      );
    try {
      const first = await burst();
      expect(first.every((r) => r.status === 200)).toBe(true);
      expect(calls).toBe(1);
      await eventually(async () =>
        /hit/.test(String((await fetch(`${a.server.url}/item`)).headers.get('cache-status'))),
      );
      clock.advance(5_000);
      await burst();
      expect(calls).toBe(1);
      clock.advance(6_000);
      const third = await burst();
      expect(calls).toBe(2);
      const bodies = await Promise.all(third.map((r) => r.json()));
      expect(new Set(bodies.map((body) => (body as { n: number }).n))).toEqual(new Set([2]));
    } finally {
      await Promise.all([a.server.close(), b.server.close()]);
      await cleanupPrefix(a.client, prefix);
    }
  });

  it('serves the origin within the deadline when Redis is blackholed', async () => {
    const prefix = testPrefix();
    const target = new URL(redisUrl());
    const proxy = await startFaultProxy({ host: target.hostname, port: Number(target.port) });
    let calls = 0;
    const app = await instance(prefix, createManualClock(), () => ({ json: { n: ++calls } }), {
      url: proxy.url,
      deadlineMs: 100,
    });
    try {
      await fetch(`${app.server.url}/r`);
      await eventually(async () =>
        /hit/.test(String((await fetch(`${app.server.url}/r`)).headers.get('cache-status'))),
      );
      proxy.blackhole();
      const started = performance.now();
      const res = await fetch(`${app.server.url}/r`);
      const elapsed = performance.now() - started;
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ n: 2 });
      expect(res.headers.get('cache-status')).toBe('keel; fwd=miss; detail=store-unavailable');
      expect(elapsed).toBeLessThan(1_000);
      expect(app.cache.stats().errors).toBeGreaterThan(0);
    } finally {
      await app.server.close();
      proxy.heal();
      await proxy.close();
      const cleaner = await connected();
      await cleanupPrefix(cleaner, prefix);
    }
  });

  it("tag invalidation reaches another instance's L1 through pub/sub", async () => {
    const prefix = testPrefix();
    const clock = createManualClock();
    let calls = 0;
    const handler: Handler = () => ({ json: { n: ++calls } });
    const options = { l1: true, tags: ['catalogue'] };
    const a = await instance(prefix, clock, handler, options);
    const b = await instance(prefix, clock, handler, options);
    const getB = async () => {
      const res = await fetch(`${b.server.url}/catalogue`);
      return { status: res.headers.get('cache-status'), body: (await res.json()) as { n: number } };
    };
    try {
      await getB();
      await eventually(async () => /hit/.test(String((await getB()).status)));
      const before = b.cache.stats().l1Hits;
      expect((await getB()).body).toEqual({ n: 1 });
      expect(b.cache.stats().l1Hits).toBe(before + 1);
      await a.cache.invalidate({ tags: ['catalogue'] });
      await eventually(async () => (await getB()).body.n === 2, 2_000);
      expect(calls).toBe(2);
    } finally {
      await Promise.all([a.server.close(), b.server.close()]);
      await Promise.all([a.cache.close(), b.cache.close()]);
      await cleanupPrefix(a.client, prefix);
    }
  });
});
