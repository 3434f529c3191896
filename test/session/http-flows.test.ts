/**
 * Session flows through real express-session and koa-session apps on a real Redis, one
 * scenario list run against both frameworks: log in, change, regenerate, log out, rolling and
 * touch, "remember me", 50 concurrent writers, a logout racing a slow request, and log out
 * everywhere.
 */
import * as keelExpress from '@keel/express';
import * as keelKoa from '@keel/koa';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupPrefix, createTestRedis, testPrefix } from '../support/index.js';
import {
  type AppOptions,
  CookieJar,
  call,
  expressSessionApp,
  koaSessionApp,
  REMEMBER_MS,
  SESSION_MAX_AGE_MS,
  type SessionApp,
} from './apps.js';

const client = createTestRedis();
const userId = (s: Record<string, unknown>) => (typeof s.user === 'string' ? s.user : undefined);

type StoreOptions = { conflict?: 'merge' | 'last-write-wins' };
type MakeApp = (prefix: string, store: StoreOptions, app: AppOptions) => Promise<SessionApp>;

const frameworks: [string, MakeApp][] = [
  [
    'express',
    (prefix, store, app) =>
      expressSessionApp(
        new keelExpress.SessionStore({
          client,
          prefix,
          userId: (s) => userId(s as unknown as Record<string, unknown>),
          ...store,
        }),
        app,
      ),
  ],
  [
    'koa',
    (prefix, store, app) =>
      koaSessionApp(new keelKoa.SessionStore({ client, prefix, userId, ...store }), app),
  ],
];

describe.each(frameworks)('%s sessions on Redis', (_name, makeApp) => {
  let prefix: string;
  let app: SessionApp | undefined;
  const start = async (store: StoreOptions = {}, options: AppOptions = {}) => {
    prefix = testPrefix();
    app = await makeApp(prefix, store, options);
    return app;
  };
  const stored = async (a: SessionApp, jar: CookieJar) => {
    const raw = await client.get(`${prefix}${a.sidOf(jar.header)}`);
    return raw === null ? null : (JSON.parse(raw) as Record<string, unknown>);
  };
  const ttlOf = (a: SessionApp, jar: CookieJar) => client.pttl(`${prefix}${a.sidOf(jar.header)}`);
  const login = async (a: SessionApp, user = 'ann') => {
    const jar = new CookieJar();
    expect((await call(a, jar, 'POST', '/login', { user })).status).toBe(200);
    return jar;
  };

  afterEach(async () => {
    await app?.close();
    app = undefined;
    await cleanupPrefix(client, prefix);
    await cleanupPrefix(client, `{${prefix}`);
  });

  it('logs in, stores connect-redis JSON at <prefix><id>, and reads it back', async () => {
    const a = await start();
    const jar = await login(a);
    expect(a.sidOf(jar.header)).not.toBe('');
    expect((await call(a, jar, 'GET', '/me')).body).toMatchObject({ user: 'ann' });
    expect(await stored(a, jar)).toMatchObject({ user: 'ann' });
    const ttl = await ttlOf(a, jar);
    expect(ttl).toBeGreaterThan(SESSION_MAX_AGE_MS - 5_000);
    expect(ttl).toBeLessThanOrEqual(SESSION_MAX_AGE_MS + 10_000);
  });

  it('changes a field, and regenerates the id at the next login', async () => {
    const a = await start();
    const jar = await login(a);
    await call(a, jar, 'POST', '/set/theme', { value: 'dark' });
    expect((await call(a, jar, 'GET', '/me')).body).toMatchObject({ user: 'ann', theme: 'dark' });
    const before = jar.clone();
    await call(a, jar, 'POST', '/login', { user: 'bob' });
    expect(a.sidOf(jar.header)).not.toBe(a.sidOf(before.header));
    expect(await stored(a, before)).toBeNull();
    expect((await call(a, before, 'GET', '/me')).body).not.toHaveProperty('user');
    expect((await call(a, jar, 'GET', '/me')).body).toMatchObject({ user: 'bob' });
  });

  it('logs out: the session and its key are gone', async () => {
    const a = await start();
    const jar = await login(a);
    const old = jar.clone();
    await call(a, jar, 'POST', '/logout');
    expect(await stored(a, old)).toBeNull();
    expect((await call(a, old, 'GET', '/me')).body).not.toHaveProperty('user');
  });

  it('rolling: a read extends the TTL and re-sends the cookie', async () => {
    const a = await start({}, { rolling: true });
    const jar = await login(a);
    await client.pexpire(`${prefix}${a.sidOf(jar.header)}`, 5_000);
    const read = await call(a, jar, 'GET', '/me');
    expect(read.body).toMatchObject({ user: 'ann' });
    expect(read.setCookie.join()).toMatch(/(connect\.sid|koa\.sess)=/);
    expect(await ttlOf(a, jar)).toBeGreaterThan(SESSION_MAX_AGE_MS - 5_000);
  });

  it('"remember me": a longer cookie lifetime is persisted and kept', async () => {
    const a = await start();
    const jar = await login(a);
    await call(a, jar, 'POST', '/remember');
    expect(await ttlOf(a, jar)).toBeGreaterThan(REMEMBER_MS - 60_000);
    await call(a, jar, 'GET', '/me');
    await call(a, jar, 'POST', '/set/x');
    expect(await ttlOf(a, jar)).toBeGreaterThan(REMEMBER_MS - 60_000);
    expect((await call(a, jar, 'GET', '/me')).body).toMatchObject({ user: 'ann', x: true });
  });

  it('50 concurrent requests setting different fields all persist', async () => {
    const a = await start();
    const jar = await login(a);
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        call(a, jar, 'POST', `/set/f${i}?delayMs=100`, { value: i }),
      ),
    );
    expect(results.every((r) => r.status === 200)).toBe(true);
    const me = (await call(a, jar, 'GET', '/me')).body as Record<string, unknown>;
    for (let i = 0; i < 50; i++) expect(me[`f${i}`], `field f${i}`).toBe(i);
    expect(me.user).toBe('ann');
  });

  it('last-write-wins loses concurrent updates, as connect-redis does', async () => {
    const a = await start({ conflict: 'last-write-wins' });
    const jar = await login(a);
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        call(a, jar, 'POST', `/set/f${i}?delayMs=100`, { value: i }),
      ),
    );
    const me = (await call(a, jar, 'GET', '/me')).body as Record<string, unknown>;
    expect(Object.keys(me).filter((k) => k.startsWith('f')).length).toBeLessThan(10);
  });

  it('a logout racing a slow request stays a logout', async () => {
    const a = await start();
    const jar = await login(a);
    const old = jar.clone();
    const slow = call(a, jar.clone(), 'POST', '/set/late?delayMs=300', { value: 1 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await call(a, jar, 'POST', '/logout');
    expect((await slow).status).toBe(200);
    expect(await stored(a, old)).toBeNull();
    expect((await call(a, old, 'GET', '/me')).body).not.toHaveProperty('user');
  });

  it("lists a user's sessions and logs them out everywhere but here", async () => {
    const a = await start();
    const laptop = await login(a);
    const phone = await login(a);
    await login(a, 'bob');
    const listed = (await call(a, laptop, 'GET', '/sessions')).body as string[];
    expect(listed.sort()).toEqual([a.sidOf(laptop.header), a.sidOf(phone.header)].sort());
    expect((await call(a, laptop, 'POST', '/logout-everywhere')).body).toEqual({ ended: 1 });
    expect((await call(a, phone, 'GET', '/me')).body).not.toHaveProperty('user');
    expect((await call(a, laptop, 'GET', '/me')).body).toMatchObject({ user: 'ann' });
    expect((await call(a, laptop, 'GET', '/sessions')).body).toEqual([a.sidOf(laptop.header)]);
  });
});
