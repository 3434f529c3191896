/**
 * The cache against the Redis deployments people run (issue 23), each on a private server
 * started with the setting in question: databases sharing one pub/sub, ACL users, a full
 * memory (`OOM`), another client's slow script (`BUSY`), foreign data (`WRONGTYPE`), a refused
 * key pattern (`NOPERM`), and a stall that makes Keel give up on a write. The cache fails open
 * every time: the origin answers, `Cache-Status` and an event say why, never a 500.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type Cache, createCache } from '@keel/cache';
import type { KeelEvent } from '@keel/core';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanupPrefix,
  createTestRedis,
  type RedisServer,
  startRedisServer,
  type TestRedisOptions,
  testPrefix,
} from '../support/index.js';
import { eventually, expressApp, frameworks, listen } from './apps.js';

let server: RedisServer;
let admin: Redis;

beforeAll(async () => {
  // BUSY is answered to other clients once a script has run this long, ms.
  server = await startRedisServer({ args: ['--busy-reply-threshold', '100'] });
  admin = await connect(server.url);
});

afterAll(async () => {
  await server?.stop();
});

/** A connected client as createRedisClient() makes them (no offline queue, one retry). */
async function connect(url: string, options: TestRedisOptions = {}): Promise<Redis> {
  const client = createTestRedis({
    url,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: () => 50,
    ...options,
  });
  if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
  return client;
}

/** A fresh ACL user on the private server with `rules`; the URL to connect as it. */
async function aclUser(rules: string[]): Promise<string> {
  const name = `u-${randomUUID().slice(0, 8)}`;
  await admin.call('ACL', 'SETUSER', name, 'on', '>pw', ...rules);
  return `redis://${name}:pw@${server.host}:${server.port}`;
}

function named<N extends KeelEvent['name']>(
  events: KeelEvent[],
  name: N,
): Extract<KeelEvent, { name: N }>[] {
  return events.filter((event): event is Extract<KeelEvent, { name: N }> => event.name === name);
}

/** True once `get(key)` answers from the L1 (an invalidation racing a read keeps it out once). */
async function servedFromL1(cache: Cache, key: string, tags: string[] = []): Promise<boolean> {
  const before = cache.stats().l1Hits;
  await cache.get(key, { tags });
  return cache.stats().l1Hits === before + 1;
}

describe('L1 bus and the database index', () => {
  it('an app on database 4 never clears the L1 of a same-prefix app on database 3', async () => {
    const prefix = testPrefix();
    const seen3: KeelEvent[] = [];
    const [c3, c4a, c4b] = await Promise.all([
      connect(`${server.url}/3`),
      connect(`${server.url}/4`),
      connect(`${server.url}/4`),
    ]);
    const on3 = createCache({ client: c3, prefix, l1: true, events: (e) => seen3.push(e) });
    const on4 = createCache({ client: c4a, prefix, l1: true });
    const peer4 = createCache({ client: c4b, prefix, l1: true });
    await Promise.all([on3.ready(), on4.ready(), peer4.ready()]);
    try {
      await on3.set('user:1', 'db3', { tags: ['users'] });
      await eventually(() => servedFromL1(on3, 'user:1', ['users']));
      // Database 4 writes and invalidates the same key and tag; its own peer hears it.
      await on4.set('user:1', 'db4', { tags: ['users'] });
      await eventually(() => servedFromL1(peer4, 'user:1', ['users']));
      await on4.invalidate({ tags: ['users'], keys: ['user:1'] });
      await eventually(async () => (await peer4.get('user:1', { tags: ['users'] })) === undefined);

      // Database 3's L1 still holds its own entry, untouched and not cleared.
      expect(await servedFromL1(on3, 'user:1', ['users'])).toBe(true);
      expect(await on3.get('user:1', { tags: ['users'] })).toBe('db3');
      expect(named(seen3, 'cache.l1-resync')).toEqual([]);
    } finally {
      await Promise.all([on3.close(), on4.close(), peer4.close()]);
      await Promise.all([cleanupPrefix(c3, prefix), cleanupPrefix(c4a, prefix)]);
    }
  });
});

describe('L1 bus refused by an ACL', () => {
  it('says so once (warning and event), keeps the L1 off, and the cache still works', async () => {
    const prefix = testPrefix();
    const url = await aclUser([`~${prefix}*`, 'resetchannels', '+@all']);
    const client = await connect(url);
    const events: KeelEvent[] = [];
    const cache = createCache({ client, prefix, l1: true, events: (e) => events.push(e) });
    try {
      await eventually(() => named(events, 'cache.l1-refused').length > 0);
      expect(named(events, 'cache.l1-refused')[0]?.attributes).toEqual({ command: 'SUBSCRIBE' });
      const warnings = named(events, 'keel.warning');
      expect(warnings.map((w) => w.attributes)).toEqual([
        expect.objectContaining({ warning: 'l1BusRefused' }),
      ]);
      expect(String(warnings[0]?.attributes.message)).toContain(`&${prefix}cache:bus:0`);
      // Nothing to wait for: ready() does not hang on a bus that cannot come up.
      await cache.ready();

      // The store still serves; the L1 does not (it could not hear invalidations).
      await cache.set('k', 'v');
      expect(await cache.get('k')).toBe('v');
      expect(await cache.get('k')).toBe('v');
      expect(cache.stats().l1Hits).toBe(0);
      await cache.invalidate({ keys: ['k'] });
      expect(await cache.get('k')).toBeUndefined();
      expect(named(events, 'cache.l1-refused').map((e) => e.attributes.command)).toContain(
        'PUBLISH',
      );
      expect(named(events, 'keel.warning')).toHaveLength(1);

      // Granting the channel turns the L1 on without a restart.
      await admin.call('ACL', 'SETUSER', new URL(url).username, `&${prefix}cache:bus:*`);
      await cache.set('k', 'v2');
      await eventually(() => servedFromL1(cache, 'k'), 10_000);
    } finally {
      await cache.close();
      await cleanupPrefix(admin, prefix);
    }
  });
});

/** A Redis that answers reads with an error: the cache is bypassed and says why. */
interface ReadFault {
  /** The `Cache-Status` detail and `cache.bypass` reason. */
  reason: 'store-unavailable' | 'store-misconfigured' | 'store-data';
  /** The code `cache.set` rejects with (write-through reports store failures). */
  setCode: string;
  /** The cache's client: an ACL user for NOPERM. */
  client(prefix: string): Promise<Redis>;
  /** Can an entry be stored before the fault (not under a refused ACL)? */
  primes: boolean;
  /** Break Redis for this prefix; returns the repair. */
  inject(prefix: string): Promise<() => Promise<void>>;
}

const readFaults: [string, ReadFault][] = [
  [
    'BUSY (another client runs a slow script)',
    {
      reason: 'store-unavailable',
      setCode: 'KEEL_ERR_STORE_UNAVAILABLE',
      client: () => connect(server.url),
      primes: true,
      async inject() {
        const blocker = createTestRedis({ url: server.url });
        void blocker.eval('while true do end', 0).catch(() => {});
        await eventually(() =>
          admin.ping().then(
            () => false,
            (error: Error) => /^BUSY/.test(error.message),
          ),
        );
        return async () => {
          await admin.call('SCRIPT', 'KILL');
          await eventually(() =>
            admin.ping().then(
              () => true,
              () => false,
            ),
          );
        };
      },
    },
  ],
  [
    'WRONGTYPE (foreign data under the prefix)',
    {
      reason: 'store-data',
      setCode: 'KEEL_ERR_STORE_DATA',
      client: () => connect(server.url),
      primes: true,
      async inject(prefix) {
        // Another application writes strings where the cache keeps its records (hashes).
        const records = await admin.keys(`${prefix}cache:*:r`);
        expect(records.length).toBeGreaterThan(0);
        for (const key of records) await admin.set(key, 'not a cache record');
        return async () => {};
      },
    },
  ],
  [
    'NOPERM (an ACL user without the key pattern)',
    {
      reason: 'store-misconfigured',
      setCode: 'KEEL_ERR_STORE_MISCONFIGURED',
      client: async () => connect(await aclUser(['~elsewhere:*', 'allchannels', '+@all'])),
      primes: false,
      inject: async () => async () => {},
    },
  ],
];

describe.each(frameworks)('%s response cache on a failing Redis', (_name, makeApp) => {
  it.each(readFaults)('%s: bypassed, the handler answers', async (_fault, fault) => {
    const prefix = testPrefix();
    const events: KeelEvent[] = [];
    const client = await fault.client(prefix);
    const cache = createCache({ client, prefix, events: (e) => events.push(e), warnings: false });
    let calls = 0;
    const app = await listen(
      makeApp({ cache, tags: ['catalogue'] }, () => ({ json: { n: ++calls } })),
    );
    const get = () => fetch(`${app.url}/catalogue`);
    let repair = async () => {};
    try {
      if (fault.primes) {
        await get();
        await eventually(async () => /hit/.test(String((await get()).headers.get('cache-status'))));
      }
      repair = await fault.inject(prefix);
      const before = calls;
      for (let i = 1; i <= 3; i++) {
        const res = await get();
        expect(res.status).toBe(200);
        expect(await res.json()).toEqual({ n: before + i });
        expect(res.headers.get('cache-status')).toBe(`keel; fwd=miss; detail=${fault.reason}`);
      }
      const bypasses = named(events, 'cache.bypass').map((e) => e.attributes);
      expect(bypasses).toHaveLength(3);
      expect(bypasses).toEqual(Array(3).fill(expect.objectContaining({ reason: fault.reason })));
    } finally {
      await repair();
      await app.close();
      await cleanupPrefix(admin, prefix);
    }
  });

  it('OOM (memory full, noeviction): hits still served, fills dropped and said so', async () => {
    const prefix = testPrefix();
    const events: KeelEvent[] = [];
    const client = await connect(server.url);
    const cache = createCache({ client, prefix, events: (e) => events.push(e), warnings: false });
    let calls = 0;
    const app = await listen(
      // A tag per path: a new path's tag must be created (a write) before its handler runs.
      makeApp({ cache, tags: (req) => ['catalogue', `path:${req.path}`] }, () => ({
        json: { n: ++calls },
      })),
    );
    const get = (path: string) => fetch(`${app.url}${path}`);
    try {
      await get('/stored');
      await eventually(async () =>
        /hit/.test(String((await get('/stored')).headers.get('cache-status'))),
      );
      await admin.config('SET', 'maxmemory', '1');
      try {
        const hit = await get('/stored');
        expect(hit.status).toBe(200);
        expect(await hit.json()).toEqual({ n: 1 });
        expect(hit.headers.get('cache-status')).toMatch(/^keel; hit; ttl=\d+$/);
        for (let i = 1; i <= 2; i++) {
          const res = await get('/new');
          expect(res.status).toBe(200);
          expect(await res.json()).toEqual({ n: 1 + i });
          expect(res.headers.get('cache-status')).toBe('keel; fwd=miss; detail=store-unavailable');
        }
      } finally {
        await admin.config('SET', 'maxmemory', '0');
      }
      const errors = named(events, 'cache.error');
      expect(errors.map((e) => e.attributes.operation)).toContain('ensure-tags');
      expect(
        errors.every((e) => (e.error as { code?: string }).code === 'KEEL_ERR_STORE_UNAVAILABLE'),
      ).toBe(true);
    } finally {
      await app.close();
      await cleanupPrefix(admin, prefix);
    }
  });
});

describe('cache-aside on a failing Redis', () => {
  it.each(readFaults)(
    '%s: wrap runs the loader, get misses, set rejects coded',
    async (_f, fault) => {
      const prefix = testPrefix();
      const events: KeelEvent[] = [];
      const client = await fault.client(prefix);
      const cache = createCache({ client, prefix, events: (e) => events.push(e), warnings: false });
      let repair = async () => {};
      try {
        if (fault.primes) {
          await cache.wrap('user:1', () => ({ name: 'cached' }), { tags: ['users'] });
          await eventually(
            async () => (await cache.get('user:1', { tags: ['users'] })) !== undefined,
          );
        }
        repair = await fault.inject(prefix);
        let loads = 0;
        const loader = () => ({ name: 'fresh', load: ++loads });
        expect(await cache.wrap('user:1', loader, { tags: ['users'] })).toEqual({
          name: 'fresh',
          load: 1,
        });
        expect(await cache.wrap('user:1', loader, { tags: ['users'] })).toEqual({
          name: 'fresh',
          load: 2,
        });
        expect(await cache.get('user:1', { tags: ['users'] })).toBeUndefined();
        expect(named(events, 'cache.bypass').map((e) => e.attributes)).toEqual(
          Array(3).fill({ key: expect.any(String), reason: fault.reason }),
        );
        await expect(cache.set('user:1', { name: 'x' })).rejects.toMatchObject({
          code: fault.setCode,
        });
      } finally {
        await repair();
        await cleanupPrefix(admin, prefix);
      }
    },
  );

  it('OOM: cached values still served, new ones loaded but not stored', async () => {
    const prefix = testPrefix();
    const events: KeelEvent[] = [];
    const client = await connect(server.url);
    const cache = createCache({ client, prefix, events: (e) => events.push(e), warnings: false });
    const failedWrites = () =>
      named(events, 'cache.store').filter((e) => e.attributes.reason === 'error').length;
    try {
      await cache.wrap('user:1', () => 'cached', { tags: ['users'] });
      await eventually(async () => (await cache.get('user:1', { tags: ['users'] })) === 'cached');
      await admin.config('SET', 'maxmemory', '1');
      try {
        let loads = 0;
        const load = () => `loaded ${++loads}`;
        expect(await cache.wrap('user:1', load, { tags: ['users'] })).toBe('cached');
        // An existing tag: the value is returned, then its write fails (OOM).
        expect(await cache.wrap('user:2', load, { tags: ['users'] })).toBe('loaded 1');
        await eventually(() => failedWrites() === 1);
        expect(await cache.wrap('user:2', load, { tags: ['users'] })).toBe('loaded 2');
        // A new tag cannot be created: nothing is even attempted.
        expect(await cache.wrap('user:3', load, { tags: ['user:3'] })).toBe('loaded 3');
        await expect(cache.set('user:4', 'x')).rejects.toMatchObject({
          code: 'KEEL_ERR_STORE_UNAVAILABLE',
        });
        expect(await cache.get('user:3', { tags: ['user:3'] })).toBeUndefined();
      } finally {
        await admin.config('SET', 'maxmemory', '0');
      }
      const errors = named(events, 'cache.error');
      expect(new Set(errors.map((e) => e.attributes.operation))).toEqual(
        new Set(['ensure-tags', 'write']),
      );
      expect(errors.map((e) => (e.error as { code?: string }).code)).toEqual(
        errors.map(() => 'KEEL_ERR_STORE_UNAVAILABLE'),
      );
    } finally {
      await cleanupPrefix(admin, prefix);
    }
  });
});

describe('calls given up on', () => {
  it('a write abandoned while Redis is stalled does nothing when Redis resumes', async () => {
    const prefix = testPrefix();
    const client = await connect(server.url);
    const cache = createCache({ client, prefix, deadlineMs: 100, breaker: false, warnings: false });
    try {
      await cache.set('warm', 1);
      server.pause();
      try {
        await expect(cache.set('k', 'late')).rejects.toMatchObject({
          code: 'KEEL_ERR_STORE_TIMEOUT',
        });
      } finally {
        server.resume();
      }
      // The write was already on the socket; Redis ran it after its deadline, and its guard
      // refused it. A read on the same connection runs after it.
      expect(await cache.get('k')).toBeUndefined();
      expect(await cache.get('warm')).toBe(1);
    } finally {
      await cleanupPrefix(admin, prefix);
    }
  });
});

describe('the ACL rule in the README', () => {
  it('is enough for every cache feature: L1 bus, lock, tags, response cache', async () => {
    const readme = readFileSync(new URL('../../packages/cache/README.md', import.meta.url), 'utf8');
    const rule = /^ACL SETUSER keel-cache on >\S+ (.+)$/m.exec(readme)?.[1];
    expect(rule, 'the README states the ACL rule').toBeDefined();
    const prefix = testPrefix();
    const url = await aclUser((rule as string).replaceAll('keel:', prefix).split(' '));
    const events: KeelEvent[] = [];
    const listener = (e: KeelEvent) => events.push(e);
    const [ca, cb] = await Promise.all([connect(`${url}/2`), connect(`${url}/2`)]);
    const a = createCache({ client: ca, prefix, l1: true, events: listener });
    const b = createCache({ client: cb, prefix, l1: true, events: listener });
    let calls = 0;
    const app = await listen(
      expressApp({ cache: a, tags: ['catalogue'] }, () => ({ json: { n: ++calls } })),
    );
    try {
      await Promise.all([a.ready(), b.ready()]);
      expect(await a.wrap('user:1', () => 'Ada', { tags: ['users'] })).toBe('Ada');
      await eventually(async () => (await b.get('user:1', { tags: ['users'] })) === 'Ada');
      await eventually(() => servedFromL1(b, 'user:1', ['users']));
      await a.invalidate({ tags: ['users'] });
      await eventually(async () => (await b.get('user:1', { tags: ['users'] })) === undefined);
      await a.set('user:2', 'Bob');
      await b.delete('user:2');
      // A's L1 forgets it when B's message arrives (the L1's documented window).
      await eventually(async () => (await a.get('user:2')) === undefined);
      await Promise.all(Array.from({ length: 5 }, () => fetch(`${app.url}/catalogue`)));
      await eventually(async () =>
        /hit/.test(String((await fetch(`${app.url}/catalogue`)).headers.get('cache-status'))),
      );
      expect(calls).toBe(1);

      const failures = events.filter(
        (e) =>
          e.name === 'keel.warning' ||
          e.name === 'cache.l1-refused' ||
          e.name === 'cache.error' ||
          (e.name === 'store.call' && e.attributes.outcome !== 'ok'),
      );
      expect(failures.map((e) => [e.name, e.attributes, String(e.error)])).toEqual([]);
    } finally {
      await app.close();
      await Promise.all([a.close(), b.close()]);
      await cleanupPrefix(admin, prefix);
    }
  });
});
