/**
 * The data-level cache conformance suite: the same scenarios against the memory store, a
 * standalone Redis and a 3-master Cluster. Time moves with a manual clock (the memory store's
 * `clock`, the Redis scripts' `clockForTests`), never with sleeps.
 */
import { randomBytes } from 'node:crypto';
import { type Cache, type CacheOptions, createCache } from '@keel/cache';
import { createManualClock, type ManualClock } from '@keel/core';
import type { Cluster, Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupPrefix, testPrefix } from '../support/index.js';

export interface CacheFixture {
  /** A cache on this backend with `options`, driven by `clock`. */
  create(options?: Omit<CacheOptions, 'client' | 'clock' | 'clockForTests' | 'prefix'>): Cache;
  clock: ManualClock;
  cleanup(): Promise<unknown>;
}

export interface CacheCaps {
  /** True when another `create()` shares the entries (a Redis backend). */
  shared: boolean;
}

/** Resolves when `released()` is called: a loader held open while the test acts. */
function gate() {
  let release!: () => void;
  const opened = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { opened, release };
}

/** Wait (bounded) until `check` passes; background work settles in a few ms. */
async function eventually(check: () => boolean | Promise<boolean>, ms = 2_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export function describeCacheConformance(
  name: string,
  makeFixture: () => CacheFixture | Promise<CacheFixture>,
  caps: CacheCaps,
): void {
  describe(`cache conformance: ${name}`, () => {
    let fixture: CacheFixture | undefined;
    const setup = async () => {
      fixture = await makeFixture();
      return fixture;
    };
    afterEach(async () => {
      await fixture?.cleanup();
      fixture = undefined;
    });

    it('loads once, then serves the stored value until its TTL', async () => {
      const { create, clock } = await setup();
      const cache = create({ ttlMs: 1_000 });
      let calls = 0;
      const load = async () => ({ n: ++calls, ok: true });
      expect(await cache.wrap('user:1', load)).toEqual({ n: 1, ok: true });
      // The write is in the background: wait for it, then it is a hit.
      await eventually(async () => (await cache.get('user:1')) !== undefined);
      expect(await cache.wrap('user:1', load)).toEqual({ n: 1, ok: true });
      clock.advance(999);
      expect(await cache.wrap('user:1', load)).toEqual({ n: 1, ok: true });
      clock.advance(2);
      expect(await cache.wrap('user:1', load)).toEqual({ n: 2, ok: true });
      expect(calls).toBe(2);
    });

    it('keeps bytes byte-identical and never stores undefined', async () => {
      const { create } = await setup();
      const cache = create();
      const bytes = randomBytes(4096);
      await cache.set('blob', bytes);
      const back = await cache.get<Buffer>('blob');
      expect(Buffer.compare(back!, bytes)).toBe(0);
      let calls = 0;
      await cache.wrap('nothing', async () => {
        calls++;
        return undefined;
      });
      await cache.wrap('nothing', async () => {
        calls++;
        return undefined;
      });
      expect(calls).toBe(2);
    });

    it('shares one loader call among concurrent misses, and its error among its waiters', async () => {
      const { create } = await setup();
      const cache = create();
      const hold = gate();
      let calls = 0;
      const results = Array.from({ length: 100 }, () =>
        cache.wrap('hot', async () => {
          calls++;
          await hold.opened;
          return 'value';
        }),
      );
      await eventually(() => calls === 1);
      hold.release();
      expect(new Set(await Promise.all(results))).toEqual(new Set(['value']));
      expect(calls).toBe(1);

      const failing = gate();
      let failures = 0;
      const boom = new Error('origin down');
      const attempts = Array.from({ length: 20 }, () =>
        cache.wrap('cold', async () => {
          failures++;
          await failing.opened;
          throw boom;
        }),
      );
      await eventually(() => failures === 1);
      failing.release();
      const settled = await Promise.allSettled(attempts);
      expect(settled.every((s) => s.status === 'rejected' && s.reason === boom)).toBe(true);
      expect(failures).toBe(1);
    });

    it('write-through set, get and delete-on-update', async () => {
      const { create } = await setup();
      const cache = create();
      await cache.set('k', { v: 1 });
      expect(await cache.get('k')).toEqual({ v: 1 });
      await cache.set('k', { v: 2 });
      expect(await cache.get('k')).toEqual({ v: 2 });
      await cache.delete('k');
      expect(await cache.get('k')).toBeUndefined();
      await cache.set('k', { v: 3 });
      expect(await cache.get('k')).toEqual({ v: 3 });
    });

    it('does not let a load that started before a delete write its stale value after it', async () => {
      const { create } = await setup();
      const cache = create();
      const hold = gate();
      const started = gate();
      const loading = cache.wrap('row:7', async () => {
        started.release();
        await hold.opened;
        return 'old';
      });
      // The loader runs once the fill has read the entry (a miss) and its generation: only
      // then did the load start before the delete (a fixed 10 ms wait was not always enough).
      await started.opened;
      await cache.delete('row:7');
      hold.release();
      expect(await loading).toBe('old');
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(await cache.get('row:7')).toBeUndefined();
      expect(await cache.wrap('row:7', async () => 'new')).toBe('new');
    });

    it('invalidates by tag: entries of the tag are never served again, others stay', async () => {
      const { create } = await setup();
      const cache = create();
      await cache.set('p:1', 'one', { tags: ['products'] });
      await cache.set('p:2', 'two', { tags: ['products', 'featured'] });
      await cache.set('u:1', 'user', { tags: ['users'] });
      expect(await cache.get('p:1')).toBe('one');
      await cache.invalidate({ tags: ['products'] });
      expect(await cache.get('p:1')).toBeUndefined();
      expect(await cache.get('p:2')).toBeUndefined();
      expect(await cache.get('u:1')).toBe('user');
      // The tag works again for new entries.
      await cache.set('p:1', 'one again', { tags: ['products'] });
      expect(await cache.get('p:1')).toBe('one again');
      await cache.invalidate({ keys: ['u:1'] });
      expect(await cache.get('u:1')).toBeUndefined();
    });

    it('makes a fill that straddles a tag invalidation invalid at once', async () => {
      const { create } = await setup();
      const cache = create();
      const hold = gate();
      let started = false;
      const loading = cache.wrap(
        'list',
        async () => {
          started = true;
          await hold.opened;
          return 'before';
        },
        { tags: ['catalogue'] },
      );
      await eventually(() => started);
      await cache.invalidate({ tags: ['catalogue'] });
      hold.release();
      expect(await loading).toBe('before');
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(await cache.get('list', { tags: ['catalogue'] })).toBeUndefined();
      expect(await cache.wrap('list', async () => 'after', { tags: ['catalogue'] })).toBe('after');
    });

    it('stale-while-revalidate: serves the stale value and refreshes once in the background', async () => {
      const { create, clock } = await setup();
      const cache = create({ ttlMs: 1_000, staleWhileRevalidateMs: 10_000 });
      let calls = 0;
      const load = async () => `v${++calls}`;
      expect(await cache.wrap('swr', load)).toBe('v1');
      await eventually(async () => (await cache.get('swr')) !== undefined);
      clock.advance(2_000);
      const stale = await Promise.all([cache.wrap('swr', load), cache.wrap('swr', load)]);
      expect(stale).toEqual(['v1', 'v1']);
      await eventually(async () => (await cache.get('swr')) === 'v2');
      expect(calls).toBe(2);
      expect(await cache.wrap('swr', load)).toBe('v2');
      // Past the window it is a plain miss.
      clock.advance(20_000);
      expect(await cache.wrap('swr', load)).toBe('v3');
    });

    it('stale-if-error: serves the stale value when the loader fails or times out', async () => {
      const { create, clock } = await setup();
      const cache = create({ ttlMs: 1_000, staleIfErrorMs: 5_000 });
      expect(await cache.wrap('sie', async () => 'good')).toBe('good');
      await eventually(async () => (await cache.get('sie')) !== undefined);
      clock.advance(1_500);
      expect(
        await cache.wrap('sie', async () => {
          throw new Error('down');
        }),
      ).toBe('good');
      const started = performance.now();
      const slow = gate();
      expect(
        await cache.wrap(
          'sie',
          async () => {
            await slow.opened;
            return 'late';
          },
          { timeoutMs: 30 },
        ),
      ).toBe('good');
      expect(performance.now() - started).toBeLessThan(1_000);
      // The slow loader still finishes and refreshes the entry.
      slow.release();
      await eventually(async () => (await cache.get('sie')) === 'late');
      clock.advance(10_000);
      await expect(
        cache.wrap('sie', async () => {
          throw new Error('down');
        }),
      ).rejects.toThrow('down');
    });

    it('counts hits, misses and stale serves', async () => {
      const { create } = await setup();
      const cache = create();
      await cache.wrap('a', async () => 1);
      await eventually(async () => (await cache.get('a')) === 1);
      await cache.wrap('a', async () => 1);
      const stats = cache.stats();
      expect(stats.misses).toBe(1);
      expect(stats.hits).toBe(2);
      expect(stats.hitRatio).toBeCloseTo(2 / 3);
      cache.resetStats();
      expect(cache.stats().hits).toBe(0);
    });

    it.skipIf(!caps.shared)('shares entries and invalidations between two caches', async () => {
      const { create } = await setup();
      const a = create();
      const b = create();
      let calls = 0;
      const load = async () => {
        calls++;
        await new Promise((resolve) => setTimeout(resolve, 50));
        return 'shared';
      };
      const results = await Promise.all([
        ...Array.from({ length: 20 }, () => a.wrap('both', load)),
        ...Array.from({ length: 20 }, () => b.wrap('both', load)),
      ]);
      expect(new Set(results)).toEqual(new Set(['shared']));
      expect(calls).toBe(1);
      await b.invalidate({ keys: ['both'] });
      expect(await a.get('both')).toBeUndefined();
    });
  });
}

/** A Redis deployment under test: the client Keel gets, and ioredis on the same data. */
export interface RedisCacheBackend {
  client: NonNullable<CacheOptions['client']>;
  raw: Redis | Cluster;
}

/** The suite on one Redis deployment, shared by every cache made on it. */
export function describeRedisCacheConformance(
  name: string,
  backend: () => RedisCacheBackend | Promise<RedisCacheBackend>,
): void {
  describeCacheConformance(
    name,
    async () => {
      const { client, raw } = await backend();
      const clock = createManualClock();
      const prefix = testPrefix();
      return {
        clock,
        create: (options = {}) => createCache({ ...options, client, prefix, clockForTests: clock }),
        cleanup: () => cleanupPrefix(raw, prefix),
      };
    },
    { shared: true },
  );
}
