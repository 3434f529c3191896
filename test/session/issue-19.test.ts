/**
 * Issue 19 items 2 and 3, through real express-session and koa-session apps, on memory and
 * Redis:
 * - a stored session of the wrong shape (no `cookie`, `cookie` a number; a `toJSON` field or a
 *   `_maxAge` koa-session's cookie module refuses) answered 500 on every request of that
 *   session. Now it is no session (the request runs as anonymous, 200) and a `session.corrupt`
 *   event naming the field; nothing is written over it.
 * - metadata that is not a whole number (`i=1e999`, a fractional creation time) made PEXPIRE or
 *   SET PX fail inside the scripts: 500 until the session expired. Now the read drops the
 *   corrupt hash and the next write or touch writes valid metadata (Redis only: the memory
 *   storage keeps its metadata out of reach).
 */
import { createEvents, type KeelEvent } from '@keel/core';
import * as keelExpress from '@keel/express';
import * as keelKoa from '@keel/koa';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupPrefix, createTestRedis, testPrefix } from '../support/index.js';
import { CookieJar, call, expressSessionApp, koaSessionApp, type SessionApp } from './apps.js';

const client = createTestRedis();

interface Options {
  redis: boolean;
  prefix: string;
  events: ReturnType<typeof createEvents>;
  absoluteTtlMs?: number;
}

interface Built {
  app: SessionApp;
  /** Replace the stored payload of a session (the memory storage through its own API). */
  plant(id: string, payload: string): Promise<void>;
  /** The stored payload, or null. */
  payload(id: string): Promise<string | null>;
}

type Framework = (options: Options) => Promise<Built>;

const frameworks: [string, Framework][] = [
  [
    'express',
    async ({ redis, prefix, events, absoluteTtlMs }) => {
      const store = new keelExpress.SessionStore({
        ...(redis ? { client } : {}),
        prefix,
        events,
        ...(absoluteTtlMs === undefined ? {} : { absoluteTtl: absoluteTtlMs / 1000 }),
      });
      return built(await expressSessionApp(store), store.repository);
    },
  ],
  [
    'koa',
    async ({ redis, prefix, events, absoluteTtlMs }) => {
      const store = new keelKoa.SessionStore({
        ...(redis ? { client } : {}),
        prefix,
        events,
        ...(absoluteTtlMs === undefined ? {} : { absoluteTtlMs }),
      });
      return built(await koaSessionApp(store), store.repository);
    },
  ],
];

function built(app: SessionApp, repository: keelExpress.SessionStore['repository']): Built {
  const { storage } = repository;
  return {
    app,
    plant: async (id, payload) => {
      const result = await storage.save(id, {
        payload,
        ttlMs: 60_000,
        absoluteTtlMs: 0,
        touch: false,
        userHash: '',
        createdAtMs: 0,
      });
      expect(result.status).toBe('ok');
    },
    payload: async (id) => (await storage.read(id))?.payload.toString('utf8') ?? null,
  };
}

/** Wrong shapes per framework: each one threw inside the session library before. */
const wrongShapes: Record<string, [string, string][]> = {
  express: [
    ['{"user":"ann"}', 'cookie'],
    ['{"cookie":5,"user":"ann"}', 'cookie'],
    ['{"cookie":{"originalMaxAge":"1h","path":"/"},"user":"ann"}', 'cookie.originalMaxAge'],
  ],
  koa: [
    ['{"user":"ann","toJSON":1}', 'toJSON'],
    ['{"user":"ann","_maxAge":"1h","_expire":1893456000000}', '_maxAge'],
  ],
};

let apps: SessionApp[] = [];
let prefixes: string[] = [];
afterEach(async () => {
  await Promise.all(apps.map((a) => a.close()));
  for (const prefix of prefixes) {
    await cleanupPrefix(client, prefix);
    await cleanupPrefix(client, `{${prefix}`);
  }
  apps = [];
  prefixes = [];
});

async function start(make: Framework, redis: boolean, absoluteTtlMs?: number) {
  const prefix = testPrefix();
  const seen: KeelEvent[] = [];
  const events = createEvents((event) => seen.push(event));
  const b = await make({
    redis,
    prefix,
    events,
    ...(absoluteTtlMs === undefined ? {} : { absoluteTtlMs }),
  });
  apps.push(b.app);
  prefixes.push(prefix);
  const jar = new CookieJar();
  expect((await call(b.app, jar, 'POST', '/login', { user: 'ann' })).status).toBe(200);
  return { ...b, prefix, seen, jar, id: b.app.sidOf(jar.header) };
}

describe.each(frameworks)('%s: stored sessions of the wrong shape', (name, make) => {
  describe.each([
    ['memory', false],
    ['Redis', true],
  ])('on %s', (_backend, redis) => {
    it.each(wrongShapes[name]!)(
      '%s is no session and a session.corrupt event, not a 500',
      async (payload, field) => {
        const s = await start(make, redis);
        await s.plant(s.id, payload);
        s.seen.length = 0;

        const res = await call(s.app, s.jar, 'GET', '/me');
        expect(res.status).toBe(200);
        expect(res.body).not.toHaveProperty('user');
        expect(s.seen.filter((e) => e.name === 'session.corrupt').map((e) => e.attributes)).toEqual(
          [expect.objectContaining({ reason: 'shape', field })],
        );
        // No session was stored for the anonymous read.
        expect(res.setCookie).toEqual([]);
        // A request that writes (where koa-session sets the cookie from `_maxAge`) starts a new
        // session; nothing is written over the planted one.
        const write = await call(s.app, s.jar, 'POST', '/set/theme', { value: 'dark' });
        expect(write.status).toBe(200);
        const me = await call(s.app, s.jar, 'GET', '/me');
        expect(me.body).toMatchObject({ theme: 'dark' });
        expect(me.body).not.toHaveProperty('user');
        expect(s.app.sidOf(s.jar.header)).not.toBe(s.id);
        expect(await s.payload(s.id)).toBe(payload);
        // Logging in again starts a fresh, working session.
        expect((await call(s.app, s.jar, 'POST', '/login', { user: 'bob' })).status).toBe(200);
        expect((await call(s.app, s.jar, 'GET', '/me')).body).toMatchObject({ user: 'bob' });
      },
    );
  });
});

describe.each(frameworks)('%s on Redis: corrupt session metadata', (_name, make) => {
  const metaKey = (prefix: string, id: string) => `{${prefix}${id}}:meta`;
  const wholeNumbers = (meta: Record<string, string>) =>
    Object.entries(meta)
      .filter(([field]) => field !== 'u')
      .every(([, value]) => /^-?\d+$/.test(value));

  it('an idle TTL of 1e999: the session still reads (200), the hash is dropped and rewritten whole', async () => {
    const s = await start(make, true);
    await client.hset(metaKey(s.prefix, s.id), 'i', '1e999');
    const res = await call(s.app, s.jar, 'GET', '/me');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ user: 'ann' });
    expect(await client.hget(metaKey(s.prefix, s.id), 'i')).not.toBe('1e999');
    // A write puts valid metadata back.
    expect((await call(s.app, s.jar, 'POST', '/set/theme', { value: 'dark' })).status).toBe(200);
    const meta = await client.hgetall(metaKey(s.prefix, s.id));
    expect(meta.i).toMatch(/^\d+$/);
    expect(wholeNumbers(meta)).toBe(true);
    expect((await call(s.app, s.jar, 'GET', '/me')).body).toMatchObject({
      user: 'ann',
      theme: 'dark',
    });
  });

  it.each(['1e999', 'soon', 'nan', `${Date.now()}.5`])(
    'a creation time of %s under an absolute lifetime: writes still work and repair it',
    async (created) => {
      const s = await start(make, true, 3_600_000);
      await client.hset(metaKey(s.prefix, s.id), 'c', created, 't', created);
      for (const path of ['/set/theme', '/set/lang']) {
        expect((await call(s.app, s.jar, 'POST', path, { value: 'x' })).status).toBe(200);
      }
      const me = await call(s.app, s.jar, 'GET', '/me');
      expect(me.status).toBe(200);
      expect(me.body).toMatchObject({ user: 'ann', theme: 'x', lang: 'x' });
      const meta = await client.hgetall(metaKey(s.prefix, s.id));
      expect(wholeNumbers(meta)).toBe(true);
      // The absolute lifetime restarted from the repair, as for a session Keel did not write.
      const pttl = await client.pttl(`${s.prefix}${s.id}`);
      expect(pttl).toBeGreaterThan(0);
      expect(pttl).toBeLessThanOrEqual(3_600_000);
    },
  );
});
