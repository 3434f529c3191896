/**
 * Sessions against the Redis people run (issue 23): memory full under `noeviction` (`OOM`),
 * another client's slow script (`BUSY`), foreign data under a session key (`WRONGTYPE`). Each
 * reaches express-session / koa-session as a 503-class store error — never a save that answered
 * and stored nothing. And a call Keel gave up on (Redis stopped) does nothing once Redis runs
 * it (issue 12). One private server, its settings changed per test and restored.
 */
import {
  createKeyspace,
  createRedisClient,
  hashKeyPart,
  type KeelError,
  type RedisClient,
} from '@keel/core';
import * as keelExpress from '@keel/express';
import * as keelKoa from '@keel/koa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanupPrefix,
  closeClient,
  type RedisServer,
  startRedisServer,
  testPrefix,
} from '../support/index.js';
import { CookieJar, call, expressSessionApp, koaSessionApp, type SessionApp } from './apps.js';

let server: RedisServer;
let admin: RedisClient;
let client: RedisClient;

const ready = (c: RedisClient) => new Promise((resolve) => c.once('ready', resolve));

beforeAll(async () => {
  server = await startRedisServer({ args: ['--busy-reply-threshold', '50'] });
  admin = createRedisClient(server.url);
  client = createRedisClient(server.url);
  await Promise.all([ready(admin), ready(client)]);
});
afterAll(async () => {
  await closeClient(client);
  await closeClient(admin);
  await server.stop();
});

const cookie = () => ({
  originalMaxAge: 60_000,
  expires: new Date(Date.now() + 60_000),
  httpOnly: true,
  path: '/',
});
const userId = (s: Record<string, unknown>) => (typeof s.user === 'string' ? s.user : undefined);

/** The two stores as their session libraries call them: set, get, destroy. */
interface Contract {
  set(id: string, data: Record<string, unknown>): Promise<void>;
  get(id: string): Promise<unknown>;
  destroy(id: string): Promise<void>;
  listForUser(user: string): Promise<unknown>;
  app(): Promise<SessionApp>;
}

const stores: [string, (prefix: string) => Contract][] = [
  [
    'express',
    (prefix) => {
      const store = new keelExpress.SessionStore({
        client,
        prefix,
        breaker: false,
        userId: (s) => userId(s as unknown as Record<string, unknown>),
      });
      return {
        set: (id, data) => store.set(id, { cookie: cookie(), ...data } as never),
        get: (id) => store.get(id),
        destroy: (id) => store.destroy(id),
        listForUser: (user) => store.listForUser(user),
        app: () => expressSessionApp(store),
      };
    },
  ],
  [
    'koa',
    (prefix) => {
      const store = new keelKoa.SessionStore({ client, prefix, breaker: false, userId });
      return {
        set: (id, data) => store.set(id, data, 60_000),
        get: (id) => store.get(id),
        destroy: (id) => store.destroy(id),
        listForUser: (user) => store.listForUser(user),
        app: () => koaSessionApp(store),
      };
    },
  ],
];

/** The error a promise rejects with (fails the test if it resolves). */
async function failure(promise: Promise<unknown>): Promise<KeelError> {
  const outcome = await promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error(`expected a failure, got ${String(outcome.value)}`);
  return outcome.error as KeelError;
}

describe.each(stores)('%s session store on production Redis', (_name, makeStore) => {
  let prefix: string;
  let store: Contract;
  let app: SessionApp | undefined;
  const fresh = () => {
    prefix = testPrefix();
    store = makeStore(prefix);
    return store;
  };
  afterEach(async () => {
    await app?.close();
    app = undefined;
    await admin.config('SET', 'maxmemory', '0');
    await cleanupPrefix(admin as never, prefix);
    await cleanupPrefix(admin as never, `{${prefix}`);
  });

  it('memory full (OOM): a save fails with a 503 and stores nothing; reads still answer', async () => {
    fresh();
    await store.set('kept', { user: 'ann' });
    await admin.config('SET', 'maxmemory', '1');
    const error = await failure(store.set('new', { user: 'bob' }));
    expect(error).toMatchObject({ code: 'KEEL_ERR_STORE_UNAVAILABLE', status: 503 });
    expect(error.message).toMatch(/OOM/);
    expect(await admin.exists(`${prefix}new`)).toBe(0);
    // Reading (and the slide, which frees as much as it takes) needs no memory.
    expect(await store.get('kept')).toMatchObject({ user: 'ann' });
    // A logout deletes before it writes its tombstone, so Redis lets it finish.
    await store.destroy('kept');
    expect(await admin.exists(`${prefix}kept`)).toBe(0);
  });

  it("another client's slow script (BUSY): read, save and destroy fail with a 503", async () => {
    fresh();
    await store.set('s1', { user: 'ann' });
    app = await store.app();
    const jar = new CookieJar();
    expect((await call(app, jar, 'POST', '/login', { user: 'ann' })).status).toBe(200);
    const other = createRedisClient(server.url);
    await ready(other);
    try {
      const busy = other
        .eval(
          'local s = redis.call("TIME")[1] while redis.call("TIME")[1] - s < 2 do end return 1',
          0,
        )
        .catch(() => {});
      // Past --busy-reply-threshold (50 ms), every other client gets BUSY at once.
      for (
        let i = 0;
        i < 50 && (await admin.ping().catch((e: Error) => e.message)) === 'PONG';
        i++
      ) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      for (const attempt of [
        store.get('s1'),
        store.set('s2', { user: 'bob' }),
        store.destroy('s1'),
      ]) {
        const error = await failure(attempt);
        expect(error).toMatchObject({ code: 'KEEL_ERR_STORE_UNAVAILABLE', status: 503 });
        expect(error.message).toMatch(/BUSY/);
      }
      const read = await call(app, jar, 'GET', '/me');
      expect(read.status).toBe(503);
      expect(read.body).toMatchObject({ code: 'KEEL_ERR_STORE_UNAVAILABLE' });
      await busy;
    } finally {
      await closeClient(other);
    }
    expect(await store.get('s1')).toMatchObject({ user: 'ann' });
  });

  it('foreign data under a session key (WRONGTYPE) is a 503 naming the key family', async () => {
    fresh();
    await admin.hset(`${prefix}foreign`, 'a', '1');
    for (const attempt of [store.get('foreign'), store.set('foreign', { user: 'ann' })]) {
      const error = await failure(attempt);
      expect(error).toMatchObject({ code: 'KEEL_ERR_STORE_DATA', status: 503, keyFamily: prefix });
    }
    // The same through the session library: the request that carries that session's cookie.
    app = await store.app();
    const jar = new CookieJar();
    expect((await call(app, jar, 'POST', '/login', { user: 'ann' })).status).toBe(200);
    const key = `${prefix}${app.sidOf(jar.header)}`;
    await admin.del(key);
    await admin.hset(key, 'a', '1');
    const read = await call(app, jar, 'GET', '/me');
    expect(read.status).toBe(503);
    expect(read.body).toMatchObject({ code: 'KEEL_ERR_STORE_DATA' });
  });

  it("foreign data under a user index names the index family, not the sessions'", async () => {
    fresh();
    const user = `user-${prefix}`;
    const userKey = createKeyspace('keel:', 'sess').key(hashKeyPart(user), 'user');
    await store.set('u1', { user });
    expect(await admin.smembers(userKey)).toEqual(['u1']);
    await admin.del(userKey);
    await admin.set(userKey, 'not a set');
    const error = await failure(store.listForUser(user));
    expect(error).toMatchObject({ code: 'KEEL_ERR_STORE_DATA', keyFamily: 'keel:sess:' });
    await admin.del(userKey);
  });
});

describe('a session call Keel gave up on', () => {
  it('does nothing when the stopped Redis finally runs it', async () => {
    const prefix = testPrefix();
    const store = new keelKoa.SessionStore({ client, prefix, deadlineMs: 100, breaker: false });
    await store.set('warm', { n: 1 }, 60_000); // scripts loaded, server clock measured
    server.pause();
    try {
      const error = await failure(store.set('late', { n: 2 }, 60_000));
      expect(error).toMatchObject({ code: 'KEEL_ERR_STORE_TIMEOUT' });
      const destroyed = await failure(store.destroy('warm'));
      expect(destroyed).toMatchObject({ code: 'KEEL_ERR_STORE_TIMEOUT' });
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      server.resume();
    }
    // One connection answers in order: once this PING is, the queued scripts have run.
    await client.ping();
    expect(await admin.exists(`${prefix}late`)).toBe(0);
    expect(await admin.exists(`${prefix}warm`)).toBe(1);
    await cleanupPrefix(admin as never, prefix);
    await cleanupPrefix(admin as never, `{${prefix}`);
  });
});
