/**
 * The L1 in front of Redis: hits without a round trip, kept coherent across instances by
 * pub/sub, off while its subscriber is disconnected, and resynchronised after a reconnect by
 * comparing the generation counter kept in Redis.
 */
import { type Cache, createCache } from '@keel/cache';
import type { KeelEvent } from '@keel/core';
import type { Cluster, Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import {
  cleanupPrefix,
  createTestCluster,
  createTestRedis,
  redisUrl,
  startFaultProxy,
  testPrefix,
} from '../support/index.js';
import { eventually } from './apps.js';

async function connected(url = redisUrl()): Promise<Redis> {
  const client = createTestRedis({
    url,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: () => 50,
  });
  if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
  return client;
}

describe.each([
  ['standalone Redis', () => connected()],
  ['3-master Redis Cluster', () => createTestCluster({ enableOfflineQueue: false })],
] as [string, () => Promise<Redis | Cluster>][])('L1 on %s', (_name, makeClient) => {
  it('serves from the L1, and drops entries invalidated on another instance', async () => {
    const prefix = testPrefix();
    const [clientA, clientB] = await Promise.all([makeClient(), makeClient()]);
    const a = createCache({ client: clientA, prefix, l1: true });
    const b = createCache({ client: clientB, prefix, l1: true });
    await Promise.all([a.ready(), b.ready()]);
    try {
      await a.set('user:1', { name: 'Ada' }, { tags: ['users'] });
      await a.set('user:2', { name: 'Bob' });
      expect(await b.get('user:1', { tags: ['users'] })).toEqual({ name: 'Ada' });
      expect(await b.get('user:2')).toEqual({ name: 'Bob' });
      // An invalidation message arriving during a read keeps that read out of the L1, so the
      // next read may still go to Redis: wait for the L1 to answer.
      await eventually(async () => {
        const before = b.stats().l1Hits;
        expect(await b.get('user:1', { tags: ['users'] })).toEqual({ name: 'Ada' });
        return b.stats().l1Hits === before + 1;
      });

      await a.invalidate({ tags: ['users'] });
      await eventually(async () => (await b.get('user:1', { tags: ['users'] })) === undefined);
      // A write-through on A replaces B's L1 copy too.
      await a.set('user:2', { name: 'Bobby' });
      await eventually(async () => {
        const value = (await b.get<{ name: string }>('user:2'))?.name;
        return value === 'Bobby';
      });
      await a.delete('user:2');
      await eventually(async () => (await b.get('user:2')) === undefined);
    } finally {
      await Promise.all([a.close(), b.close()]);
      await cleanupPrefix(clientA, prefix);
    }
  });
});

describe('L1 resynchronisation', () => {
  it('clears itself, with the parse error, on an invalidation message it cannot read', async () => {
    const prefix = testPrefix();
    const [clientA, clientB] = await Promise.all([connected(), connected()]);
    const events: KeelEvent[] = [];
    const b = createCache({ client: clientB, prefix, l1: true, events: (e) => events.push(e) });
    await b.ready();
    try {
      await b.set('k', 'v1');
      expect(await b.get('k')).toBe('v1');
      const l1Hits = b.stats().l1Hits;
      expect(await b.get('k')).toBe('v1');
      expect(b.stats().l1Hits).toBe(l1Hits + 1);

      const channels = await clientA.pubsub('CHANNELS', `*${prefix}*`);
      expect(channels).toHaveLength(1);
      await clientA.publish(String(channels[0]), '7 {not json');
      await eventually(() => events.some((e) => e.name === 'cache.l1-resync'));
      const resync = events.find((e) => e.name === 'cache.l1-resync')!;
      expect(resync.attributes).toMatchObject({ reason: 'gap', toGeneration: 7 });
      expect(resync.error).toBeInstanceOf(SyntaxError);
      // The entry is read from Redis again, not served from the cleared L1.
      expect(await b.get('k')).toBe('v1');
      expect(b.stats().l1Hits).toBe(l1Hits + 1);
    } finally {
      await b.close();
      await cleanupPrefix(clientA, prefix);
      clientA.disconnect();
      clientB.disconnect();
    }
  });

  it('is off while its subscriber is away, and clears itself when it missed invalidations', async () => {
    const prefix = testPrefix();
    const target = new URL(redisUrl());
    const proxy = await startFaultProxy({ host: target.hostname, port: Number(target.port) });
    const clientA = await connected();
    const clientB = await connected(proxy.url);
    const events: KeelEvent[] = [];
    const a: Cache = createCache({ client: clientA, prefix, l1: true });
    const b: Cache = createCache({
      client: clientB,
      prefix,
      l1: true,
      deadlineMs: 100,
      breaker: false,
      events: (event) => events.push(event),
    });
    await Promise.all([a.ready(), b.ready()]);
    try {
      await a.set('k', 'v1');
      await eventually(async () => {
        const before = b.stats().l1Hits;
        expect(await b.get('k')).toBe('v1');
        return b.stats().l1Hits === before + 1;
      });

      // B loses its connections; A's invalidation is published while B cannot hear it.
      proxy.refuse();
      proxy.resetAll();
      await eventually(async () => (await b.get('k')) === undefined);
      await a.delete('k');
      await a.set('other', 'x');
      proxy.heal();
      await eventually(() => events.some((e) => e.name === 'cache.l1-resync'), 5_000);
      const resync = events.find((e) => e.name === 'cache.l1-resync')!;
      expect(resync.attributes).toMatchObject({ reason: 'reconnect' });
      await b.ready();
      expect(await b.get('k')).toBeUndefined();
    } finally {
      await Promise.all([a.close(), b.close()]);
      await proxy.close();
      await cleanupPrefix(clientA, prefix);
    }
  });
});
