/**
 * Switching between connect-redis (8.1, the last line that accepts ioredis) and Keel's store in
 * both directions on one Redis, with the same cookie: nobody is logged out, and each reads
 * what the other wrote. Also: connect-redis's bulk calls see Keel's sessions and nothing else.
 */
import { SessionStore } from '@keel/express';
import { RedisStore } from 'connect-redis';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupPrefix, createTestRedis, testPrefix } from '../support/index.js';
import { CookieJar, call, expressSessionApp, type SessionApp } from './apps.js';

const client = createTestRedis();

describe('connect-redis interop', () => {
  let prefix: string;
  const running: SessionApp[] = [];
  const keel = async () => {
    const app = await expressSessionApp(new SessionStore({ client, prefix }));
    running.push(app);
    return app;
  };
  const peer = async () => {
    const app = await expressSessionApp(new RedisStore({ client, prefix }));
    running.push(app);
    return app;
  };

  afterEach(async () => {
    await Promise.all(running.splice(0).map((app) => app.close()));
    await cleanupPrefix(client, prefix);
    await cleanupPrefix(client, `{${prefix}`);
  });

  it('connect-redis → Keel → connect-redis keeps the user signed in and every field', async () => {
    prefix = testPrefix();
    const jar = new CookieJar();
    const before = await peer();
    await call(before, jar, 'POST', '/login', { user: 'ann' });
    await call(before, jar, 'POST', '/set/cart', { value: ['tea', { n: 2 }] });
    await before.close();

    const switched = await keel();
    expect((await call(switched, jar, 'GET', '/me')).body).toEqual({
      user: 'ann',
      cart: ['tea', { n: 2 }],
    });
    await call(switched, jar, 'POST', '/set/theme', { value: 'dark' });
    await switched.close();

    const back = await peer();
    expect((await call(back, jar, 'GET', '/me')).body).toEqual({
      user: 'ann',
      cart: ['tea', { n: 2 }],
      theme: 'dark',
    });
  });

  it('Keel → connect-redis → Keel keeps the user signed in and every field', async () => {
    prefix = testPrefix();
    const jar = new CookieJar();
    const first = await keel();
    await call(first, jar, 'POST', '/login', { user: 'bob' });
    await call(first, jar, 'POST', '/set/n', { value: 1 });
    await first.close();

    const switched = await peer();
    expect((await call(switched, jar, 'GET', '/me')).body).toEqual({ user: 'bob', n: 1 });
    await call(switched, jar, 'POST', '/set/m', { value: 2 });
    await switched.close();

    const back = await keel();
    expect((await call(back, jar, 'GET', '/me')).body).toEqual({ user: 'bob', n: 1, m: 2 });
    await call(back, jar, 'POST', '/set/o', { value: 3 });
    expect((await call(back, jar, 'GET', '/me')).body).toEqual({ user: 'bob', n: 1, m: 2, o: 3 });
  });

  it("the stores agree on get/ids/length/all; Keel's metadata keys stay invisible", async () => {
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
    const all = (await ours.all()) as unknown as { id: string; user: string }[];
    expect(all.map((s) => `${s.id}:${s.user}`).sort()).toEqual(['a1:ann', 'b1:bob']);
    expect(await client.get(`${prefix}a1`)).toBe(JSON.stringify({ cookie, user: 'ann' }));
  });
});
