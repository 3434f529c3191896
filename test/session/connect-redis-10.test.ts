/**
 * The connect-redis 10 drop-in (issue 20): connect-redis 9+ takes only node-redis, so its users
 * switch to Keel's store by changing one line and keeping their node-redis client. An
 * express-session app on connect-redis 10 swaps the line and nobody is logged out, each store
 * reads what the other wrote, and code that reads connect-redis's option properties back
 * finds them on Keel's store too.
 */
import { SessionStore } from '@keel/express';
import { RedisStore } from 'connect-redis-10';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupPrefix, createTestRedis, testPrefix } from '../support/index.js';
import { createTestNodeRedis } from '../support/node-redis.js';
import { CookieJar, call, expressSessionApp, type SessionApp } from './apps.js';

const client = await createTestNodeRedis();
const raw = createTestRedis();

describe('connect-redis 10 drop-in on a node-redis client', () => {
  let prefix: string;
  const running: SessionApp[] = [];
  const start = async (store: SessionStore | RedisStore) => {
    const app = await expressSessionApp(store as never);
    running.push(app);
    return app;
  };

  afterEach(async () => {
    await Promise.all(running.splice(0).map((app) => app.close()));
    await cleanupPrefix(raw, prefix);
    await cleanupPrefix(raw, `{${prefix}`);
  });

  it('connect-redis 10 → Keel → connect-redis 10 keeps the user signed in and every field', async () => {
    prefix = testPrefix();
    const jar = new CookieJar();
    const before = await start(new RedisStore({ client, prefix }));
    await call(before, jar, 'POST', '/login', { user: 'ann' });
    await call(before, jar, 'POST', '/set/cart', { value: ['tea', { n: 2 }] });
    await before.close();

    const switched = await start(new SessionStore({ client, prefix })); // the one line
    expect((await call(switched, jar, 'GET', '/me')).body).toEqual({
      user: 'ann',
      cart: ['tea', { n: 2 }],
    });
    await call(switched, jar, 'POST', '/set/theme', { value: 'dark' });
    await switched.close();

    const back = await start(new RedisStore({ client, prefix }));
    expect((await call(back, jar, 'GET', '/me')).body).toEqual({
      user: 'ann',
      cart: ['tea', { n: 2 }],
      theme: 'dark',
    });
  });

  it("the stores agree on get/ids/length/all, and Keel's metadata keys stay invisible", async () => {
    prefix = testPrefix();
    const ours = new SessionStore({ client, prefix });
    const theirs = new RedisStore({ client, prefix });
    const cookie = {
      originalMaxAge: 60_000,
      expires: new Date(Date.now() + 60_000),
      httpOnly: true,
      path: '/',
    };
    await ours.set('a1', { cookie, user: 'ann' } as never);
    await theirs.set('b1', { cookie, user: 'bob' } as never);
    expect(await theirs.get('a1')).toEqual(await ours.get('a1'));
    expect(await ours.get('b1')).toMatchObject({ user: 'bob' });
    expect(await theirs.length()).toBe(2);
    expect(await ours.length()).toBe(2);
    expect(((await theirs.ids()) as string[]).sort()).toEqual(['a1', 'b1']);
    expect(((await ours.ids()) as string[]).sort()).toEqual(['a1', 'b1']);
    expect(await raw.get(`${prefix}a1`)).toBe(JSON.stringify({ cookie, user: 'ann' }));
  });

  it('exposes the option properties connect-redis 10 exposes, with its defaults', () => {
    prefix = testPrefix();
    const names = [
      'client',
      'prefix',
      'ttl',
      'scanCount',
      'serializer',
      'disableTouch',
      'disableTTL',
    ] as const;
    const pick = (store: object) =>
      Object.fromEntries(names.map((n) => [n, (store as Record<string, unknown>)[n]]));
    expect(pick(new SessionStore({ client }))).toEqual(pick(new RedisStore({ client })));
    const serializer = { parse: JSON.parse, stringify: JSON.stringify };
    const options = {
      client,
      prefix,
      ttl: 600,
      scanCount: 50,
      serializer,
      disableTouch: true,
      disableTTL: true,
    };
    expect(pick(new SessionStore(options))).toEqual(pick(new RedisStore(options)));
    expect(new SessionStore(options).serializer).toBe(serializer);
  });
});
