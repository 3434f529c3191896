/**
 * Issue 19, items 4 and 5: no single client's odd request decides the response cache for
 * others. Real Express and Koa apps, on the memory store and on real Redis: a `Range` request
 * never turns caching off for a route, the host is part of the key (X-Forwarded-Host only from
 * a trusted proxy), repeated query values keep their order, and any cookie is a credential
 * unless the route names it as identifying nobody.
 */
import { type Cache, createCache, type ResponseCacheOptions } from '@keel/cache';
import { createManualClock } from '@keel/core';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupPrefix, createTestRedis, testPrefix } from '../support/index.js';
import { eventually, frameworks, type Handler, type In, type Out } from './apps.js';

const backends = ['memory', 'redis'] as const;
const cases = frameworks.flatMap(([name, makeApp]) =>
  backends.map((backend) => [`${name}, ${backend}`, makeApp, backend] as const),
);

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

/** A handler that honours a single `bytes=a-b` range as a file server would (206 or 416). */
function ranged(body: string): (input: In) => Out {
  return ({ headers }) => {
    const range =
      typeof headers.range === 'string' ? /^bytes=(\d+)-(\d+)$/.exec(headers.range) : null;
    if (typeof headers.range === 'string' && !range) return { status: 416, text: '' };
    if (!range) return { text: body, type: 'text/plain' };
    const [from, to] = [Number(range[1]), Number(range[2])];
    if (from >= body.length) {
      return { status: 416, text: '', headers: { 'content-range': `bytes */${body.length}` } };
    }
    return {
      status: 206,
      text: body.slice(from, to + 1),
      type: 'text/plain',
      headers: { 'content-range': `bytes ${from}-${to}/${body.length}` },
    };
  };
}

describe.each(cases)('%s: hostile clients', (_name, makeApp, backend) => {
  function setup(options: ResponseCacheOptions, handler: Handler) {
    const clock = createManualClock();
    let cache: Cache;
    if (backend === 'redis') {
      const client = createTestRedis();
      const prefix = testPrefix();
      cache = createCache({ client, prefix, clockForTests: clock });
      cleanups.push(() => cleanupPrefix(client, prefix));
    } else {
      cache = createCache({ clock });
    }
    let calls = 0;
    const app = makeApp({ ...options, cache }, (input) => {
      calls++;
      return handler(input);
    });
    /** Wait until the entry for `path` (as seen with `headers`) is stored. */
    const stored = (path: string, headers: Record<string, string> = {}) =>
      eventually(async () => {
        const res = await request(app).head(path).set(headers);
        return /; hit/.test(res.headers['cache-status'] ?? '');
      });
    return { app, cache, clock, calls: () => calls, stored };
  }

  it('a Range request (206, 416) does not switch caching off for the route', async () => {
    const body = 'abcdefghijklmnopqrstuvwxyz';
    const { app, calls, stored } = setup({}, ranged(body));
    const partial = await request(app).get('/file').set('range', 'bytes=0-3');
    expect(partial.status).toBe(206);
    expect(partial.text).toBe('abcd');
    const unsatisfiable = await request(app).get('/file').set('range', 'bytes=100-200');
    expect(unsatisfiable.status).toBe(416);
    expect(calls()).toBe(2);
    // The next plain GET is an ordinary miss — no hit-for-miss marker was left — and is stored.
    const plain = await request(app).get('/file');
    expect(plain.status).toBe(200);
    expect(plain.headers['cache-status']).toBe('keel; fwd=miss');
    await stored('/file');
    const hit = await request(app).get('/file');
    expect(hit.text).toBe(body);
    expect(hit.headers['cache-status']).toMatch(/^keel; hit/);
    expect(calls()).toBe(3);
    // A client sending a Range every few seconds keeps getting answers and changes nothing.
    const again = await request(app).get('/file').set('range', 'bytes=0-3');
    expect([200, 206]).toContain(again.status);
    expect((await request(app).get('/file')).headers['cache-status']).toMatch(/^keel; hit/);
  });

  it('a Range request that leads a fill never marks the key for its waiters', async () => {
    const body = 'x'.repeat(64);
    const { app, calls, stored } = setup({}, ranged(body));
    for (let i = 0; i < 3; i++) {
      const res = await request(app).get('/file').set('range', 'bytes=0-9');
      expect(res.status).toBe(206);
      expect(res.headers['cache-status']).toBe('keel; fwd=miss');
    }
    expect((await request(app).get('/file')).headers['cache-status']).toBe('keel; fwd=miss');
    await stored('/file');
    expect(calls()).toBe(4);
  });

  it('keys on the host: a handler echoing it cannot poison another host', async () => {
    const { app, calls, stored } = setup({}, ({ headers }) => ({
      json: { link: `https://${String(headers.host)}/next` },
    }));
    const a = await request(app).get('/page').set('host', 'a.example');
    expect(a.body.link).toBe('https://a.example/next');
    await stored('/page', { host: 'a.example' });
    const b = await request(app).get('/page').set('host', 'b.example');
    expect(b.body.link).toBe('https://b.example/next');
    expect(b.headers['cache-status']).toBe('keel; fwd=miss');
    await stored('/page', { host: 'b.example' });
    const [a2, b2] = await Promise.all([
      request(app).get('/page').set('host', 'A.EXAMPLE'),
      request(app).get('/page').set('host', 'b.example'),
    ]);
    expect(a2.body.link).toBe('https://a.example/next');
    expect(b2.body.link).toBe('https://b.example/next');
    expect(calls()).toBe(2);
  });

  it('X-Forwarded-Host from an untrusted peer is never cached; from a trusted proxy it is keyed', async () => {
    const echo: Handler = ({ headers }) => ({
      json: { host: String(headers['x-forwarded-host'] ?? headers.host) },
    });
    const untrusted = setup({}, echo);
    const poison = await request(untrusted.app)
      .get('/page')
      .set('host', 'shop.example')
      .set('x-forwarded-host', 'evil.example');
    expect(poison.headers['cache-status']).toBe('keel; fwd=bypass; detail=untrusted-forwarded');
    const victim = await request(untrusted.app).get('/page').set('host', 'shop.example');
    expect(victim.body.host).toBe('shop.example');
    expect(victim.headers['cache-status']).toBe('keel; fwd=miss');
    expect(untrusted.calls()).toBe(2);

    // supertest connects from 127.0.0.1: the loopback proxy is trusted.
    const trusted = setup({ identity: { trustProxy: 'loopback' } }, echo);
    const via = (host: string) =>
      request(trusted.app).get('/page').set('host', 'app:3000').set('x-forwarded-host', host);
    expect((await via('a.example')).body.host).toBe('a.example');
    await trusted.stored('/page', { host: 'app:3000', 'x-forwarded-host': 'a.example' });
    expect((await via('b.example')).body.host).toBe('b.example');
    expect((await via('a.example')).headers['cache-status']).toMatch(/^keel; hit/);
    expect(trusted.calls()).toBe(2);
  });

  it('host: false shares one entry across hosts, for a route that answers the same on all', async () => {
    const { app, calls, stored } = setup({ host: false }, () => ({ json: { same: true } }));
    await request(app).get('/page').set('host', 'a.example');
    await stored('/page', { host: 'a.example' });
    const other = await request(app).get('/page').set('host', 'b.example');
    expect(other.headers['cache-status']).toMatch(/^keel; hit/);
    expect(calls()).toBe(1);
  });

  it('repeated query values keep their order in the key; names are still sorted', async () => {
    const { app, calls, stored } = setup({}, ({ query }) => ({
      json: { first: new URLSearchParams(query).get('a') },
    }));
    expect((await request(app).get('/q?a=1&a=2')).body.first).toBe('1');
    await stored('/q?a=1&a=2');
    const reordered = await request(app).get('/q?a=2&a=1');
    expect(reordered.body.first).toBe('2');
    expect(reordered.headers['cache-status']).toBe('keel; fwd=miss');
    const sortedNames = await request(app).get('/q?b=0&a=1&a=2');
    await stored('/q?b=0&a=1&a=2');
    expect(sortedNames.body.first).toBe('1');
    const same = await request(app).get('/q?a=1&a=2&b=0');
    expect(same.headers['cache-status']).toMatch(/^keel; hit/);
    expect(calls()).toBe(3);
  });

  it('a session cookie under any name keeps a personalised page out of the shared entry', async () => {
    const { app, calls, stored } = setup({ ignoreCookies: ['_ga*', 'consent'] }, ({ headers }) => ({
      json: { user: /myapp\.sid=/.test(String(headers.cookie ?? '')) ? 'alice' : 'anonymous' },
    }));
    const alice = await request(app).get('/home').set('cookie', 'consent=yes; myapp.sid=s%3Aalice');
    expect(alice.body.user).toBe('alice');
    expect(alice.headers['cache-status']).toBe('keel; fwd=bypass; detail=credentials');
    const anonymous = await request(app).get('/home').set('cookie', '_ga=GA1.1; consent=yes');
    expect(anonymous.body.user).toBe('anonymous');
    expect(anonymous.headers['cache-status']).toBe('keel; fwd=miss');
    await stored('/home');
    const noCookie = await request(app).get('/home');
    expect(noCookie.body.user).toBe('anonymous');
    expect(noCookie.headers['cache-status']).toMatch(/^keel; hit/);
    // Alice never gets the shared entry either.
    expect((await request(app).get('/home').set('cookie', 'myapp.sid=s%3Aalice')).body.user).toBe(
      'alice',
    );
    expect(calls()).toBe(3);
  });
});

describe('response cache options for the new key rules', () => {
  it('names what to write instead of the retired sessionCookies', () => {
    expect(() => createCacheRoute({ sessionCookies: ['sid'] } as never)).toThrow(
      /"sessionCookies" is gone.*"ignoreCookies"/,
    );
  });

  it('rejects a cookie list that is not cookie names, a bad host flag and a bad identity', () => {
    expect(() => createCacheRoute({ ignoreCookies: ['_ga, _gid'] })).toThrow(
      /option "ignoreCookies" must be a cookie name/,
    );
    expect(() => createCacheRoute({ host: 'yes' as never })).toThrow(/option "host"/);
    expect(() => createCacheRoute({ identity: 'loopback' as never })).toThrow(/option "identity"/);
    expect(() => createCacheRoute({ identity: { trustProxy: 'nowhere' } })).toThrow(/trustProxy/);
  });
});

function createCacheRoute(options: ResponseCacheOptions) {
  const [, makeApp] = frameworks[0] ?? [];
  return makeApp?.(options, () => ({ json: {} }));
}
