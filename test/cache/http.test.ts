/**
 * The response cache's HTTP behaviour, one scenario list run against real Express and Koa apps
 * (memory cache; the Redis-specific scenarios are in redis-http.test.ts).
 */
import { gzipSync } from 'node:zlib';
import { type Cache, createCache, type ResponseCacheOptions } from '@keel/cache';
import { createManualClock, headerValue, type KeelEvent } from '@keel/core';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import {
  eventually,
  frameworks,
  gate,
  type Handler,
  koaApp,
  listen,
  type Out,
  rawGet,
} from './apps.js';

describe.each(frameworks)('%s response cache', (_name, makeApp) => {
  function setup(options: ResponseCacheOptions = {}, handler?: Handler) {
    const clock = createManualClock();
    const cache: Cache = options.cache ?? createCache({ clock });
    let calls = 0;
    const app = makeApp({ ...options, cache }, async (input) => {
      calls++;
      return handler ? handler(input) : { json: { n: calls } };
    });
    /** Wait until a response was stored (the write happens after the response). */
    const stored = (path = '/r') =>
      eventually(async () => {
        const res = await request(app).head(path);
        return /; hit/.test(res.headers['cache-status'] ?? '');
      });
    return { app, cache, clock, calls: () => calls, stored };
  }

  it('stores a GET and replays it with Age, Cache-Status and a strong ETag', async () => {
    const { app, clock, calls, stored } = setup({ ttlMs: 60_000 });
    const first = await request(app).get('/r').expect(200);
    expect(first.body).toEqual({ n: 1 });
    expect(first.headers['cache-status']).toBe('keel; fwd=miss');
    await stored();
    clock.advance(5_000);
    const second = await request(app).get('/r').expect(200);
    expect(second.body).toEqual({ n: 1 });
    expect(second.headers['cache-status']).toBe('keel; hit; ttl=55');
    expect(second.headers.age).toBe('5');
    expect(second.headers.etag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
    expect(second.headers['content-type']).toMatch(/^application\/json/);
    expect(calls()).toBe(1);
    clock.advance(56_000);
    expect((await request(app).get('/r')).body).toEqual({ n: 2 });
  });

  it("caps a response's freshness at the cache's maxTtlMs", async () => {
    const clock = createManualClock();
    const cache = createCache({ clock, maxTtlMs: 10_000 });
    const { app, calls, stored } = setup({ cache, ttlMs: 60_000 });
    await request(app).get('/r').expect(200);
    await stored();
    expect((await request(app).get('/r')).headers['cache-status']).toBe('keel; hit; ttl=10');
    clock.advance(10_000);
    expect((await request(app).get('/r')).body).toEqual({ n: 2 });
    expect(calls()).toBe(2);
  });

  it('answers HEAD from the stored GET, and never stores from a HEAD', async () => {
    const { app, calls } = setup();
    const headFirst = await request(app).head('/r').expect(200);
    expect(headFirst.headers['cache-status']).toBe('keel; fwd=miss');
    expect(calls()).toBe(1);
    const get = await request(app).get('/r').expect(200);
    expect(get.headers['cache-status']).toBe('keel; fwd=miss');
    await eventually(async () =>
      /hit/.test(String((await request(app).head('/r')).headers['cache-status'])),
    );
    const head = await request(app).head('/r').expect(200);
    expect(head.headers['content-length']).toBe(String(Buffer.byteLength(get.text)));
    expect(head.text ?? '').toBe('');
    expect(calls()).toBe(2);
  });

  it('answers a matching If-None-Match with 304 (weak comparison), and keeps the origin ETag', async () => {
    const { app, stored } = setup({}, () => ({ json: { v: 1 }, headers: { etag: '"v1"' } }));
    await request(app).get('/r').expect(200);
    await stored();
    const hit = await request(app).get('/r').expect(200);
    expect(hit.headers.etag).toBe('"v1"');
    const notModified = await request(app).get('/r').set('if-none-match', '"v0", W/"v1"');
    expect(notModified.status).toBe(304);
    expect(notModified.headers.etag).toBe('"v1"');
    expect(notModified.headers['cache-status']).toMatch(/^keel; hit/);
    expect(notModified.text ?? '').toBe('');
    await request(app).get('/r').set('if-none-match', '"v2"').expect(200);
  });

  it('never stores a response with Set-Cookie, and remembers the key as uncacheable', async () => {
    let n = 0;
    const { app, calls } = setup({}, () => ({ json: { ok: true }, cookie: `user-${++n}` }));
    const first = await request(app).get('/r');
    const second = await request(app).get('/r');
    expect(calls()).toBe(2);
    expect(String(first.headers['set-cookie'])).toContain('sid=user-1');
    expect(String(second.headers['set-cookie'])).toContain('sid=user-2');
    expect(second.headers['cache-status']).toBe('keel; fwd=miss; detail=hit-for-miss');
  });

  it('honours no-store, private and no-cache, and stores only the configured statuses', async () => {
    const responses: Record<string, { status?: number; headers?: Record<string, string> }> = {
      '/no-store': { headers: { 'cache-control': 'no-store' } },
      '/private': { headers: { 'cache-control': 'private, max-age=60' } },
      '/no-cache': { headers: { 'cache-control': 'no-cache' } },
      '/created': { status: 201 },
      '/missing': { status: 404 },
      '/public': { headers: { 'cache-control': 'public, max-age=60' } },
    };
    const seen: Record<string, number> = {};
    const { app } = setup({}, ({ path }) => {
      seen[path] = (seen[path] ?? 0) + 1;
      return { ...responses[path], json: { path } };
    });
    for (const path of Object.keys(responses)) {
      await request(app).get(path);
      await eventually(async () => {
        const res = await request(app).get(path);
        return res.headers['cache-status'] !== 'keel; fwd=miss';
      });
    }
    expect(seen).toEqual({
      '/no-store': 2,
      '/private': 2,
      '/no-cache': 2,
      '/created': 2,
      '/missing': 1,
      '/public': 1,
    });
  });

  it('bypasses requests with Authorization or any cookie, except cookies the route ignores', async () => {
    const { app, calls, stored } = setup({ ignoreCookies: ['theme', '_ga*'] });
    const auth = await request(app).get('/r').set('authorization', 'Bearer a');
    expect(auth.headers['cache-status']).toBe('keel; fwd=bypass; detail=credentials');
    // A session cookie under any name is a credential: no list of "session" names to miss.
    await request(app).get('/r').set('cookie', 'myapp.sid=s%3Aabc; theme=dark');
    expect(calls()).toBe(2);
    await request(app).get('/r').set('cookie', 'theme=dark; _ga=1');
    await stored();
    const anon = await request(app).get('/r').set('cookie', '_ga_X1=2; theme=light');
    expect(anon.headers['cache-status']).toMatch(/^keel; hit/);
    expect(calls()).toBe(3);
    const again = await request(app).get('/r').set('authorization', 'Bearer a');
    expect(again.headers['cache-status']).toBe('keel; fwd=bypass; detail=credentials');
    expect(calls()).toBe(4);
  });

  it("never serves one user's private response to another", async () => {
    const handler: Handler = ({ headers }) => ({
      json: { user: headers.authorization },
      headers: { 'cache-control': 'private, max-age=60' },
    });
    const partitioned = setup(
      { credentials: 'partition', partition: (req) => headerValue(req.headers, 'authorization') },
      handler,
    );
    await request(partitioned.app).get('/r').set('authorization', 'A');
    await eventually(async () => {
      const res = await request(partitioned.app).get('/r').set('authorization', 'A');
      return /hit/.test(String(res.headers['cache-status']));
    });
    const a = await request(partitioned.app).get('/r').set('authorization', 'A');
    const b = await request(partitioned.app).get('/r').set('authorization', 'B');
    expect(a.body).toEqual({ user: 'A' });
    expect(b.body).toEqual({ user: 'B' });
    expect(b.headers['cache-status']).toBe('keel; fwd=miss');

    // Shared between credentialed requests: a private response is still never stored.
    const shared = setup({ credentials: 'share' }, handler);
    await request(shared.app).get('/r').set('authorization', 'A');
    const other = await request(shared.app).get('/r').set('authorization', 'B');
    expect(other.body).toEqual({ user: 'B' });
    expect(shared.calls()).toBe(2);
  });

  it('keeps Vary: Accept-Language and Accept-Encoding variants apart, bytes identical', async () => {
    const zipped = gzipSync(Buffer.from('hello '.repeat(50)));
    const { app, calls } = setup(
      {},
      ({ headers }): Out =>
        String(headers['accept-encoding']).includes('gzip')
          ? {
              bytes: zipped,
              type: 'text/plain',
              headers: { 'content-encoding': 'gzip', vary: 'Accept-Encoding, Accept-Language' },
            }
          : {
              text: `plain ${headers['accept-language']}`,
              headers: { vary: 'Accept-Encoding, Accept-Language' },
            },
    );
    const server = await listen(app);
    try {
      const get = (encoding: string, language: string) =>
        rawGet(`${server.url}/r`, { 'accept-encoding': encoding, 'accept-language': language });
      const variants: [string, string][] = [
        ['gzip', 'en'],
        ['identity', 'en'],
        ['identity', 'fr'],
      ];
      for (const [encoding, language] of variants) {
        await get(encoding, language);
        await eventually(async () =>
          /hit/.test(String((await get(encoding, language)).headers['cache-status'])),
        );
      }
      expect(calls()).toBe(3);
      const gz = await get('gzip', 'en');
      expect(gz.headers['content-encoding']).toBe('gzip');
      expect(Buffer.compare(gz.body, zipped)).toBe(0);
      expect(String((await get('identity', 'fr')).body)).toBe('plain fr');
      expect(String((await get('identity', 'en')).body)).toBe('plain en');
      expect(calls()).toBe(3);
    } finally {
      await server.close();
    }
  });

  it('keys on the canonical query, minus ignored parameters', async () => {
    const { app, calls, stored } = setup({ query: { ignore: ['utm_source'] } });
    await request(app).get('/r?b=2&a=1');
    await stored('/r?a=1&b=2');
    await request(app).get('/r?a=1&b=2&utm_source=mail').expect(200);
    expect(calls()).toBe(1);
    await request(app).get('/r?a=1&b=3');
    expect(calls()).toBe(2);
  });

  it('does not store bodies over maxBodyBytes', async () => {
    const { app, calls } = setup({ maxBodyBytes: 10 }, () => ({ text: 'x'.repeat(100) }));
    await request(app).get('/r').expect(200);
    const second = await request(app).get('/r').expect(200);
    expect(second.text).toBe('x'.repeat(100));
    expect(calls()).toBe(2);
  });

  it('invalidates by tag, and on a successful unsafe method when asked to', async () => {
    const { app, cache, calls, stored } = setup({ tags: ['things'], invalidateOnUnsafe: true });
    await request(app).get('/r');
    await stored();
    await cache.invalidate({ tags: ['things'] });
    expect((await request(app).get('/r')).headers['cache-status']).toBe('keel; fwd=miss');
    await stored();
    await request(app).patch('/r').expect(200);
    expect((await request(app).get('/r')).headers['cache-status']).toBe('keel; fwd=miss');
    expect(calls()).toBe(4); // GET, GET, PATCH, GET
  });

  it('renames or drops Cache-Status', async () => {
    const named = setup({ cacheStatus: 'edge-1' });
    expect((await request(named.app).get('/r')).headers['cache-status']).toBe('edge-1; fwd=miss');
    const none = setup({ cacheStatus: false });
    expect((await request(none.app).get('/r')).headers['cache-status']).toBeUndefined();
  });

  it('stale-while-revalidate: serves the stale copy at once and refreshes it once', async () => {
    const refresh = gate();
    let n = 0;
    const { app, clock, calls, stored } = setup(
      { ttlMs: 1_000, staleWhileRevalidateMs: 10_000 },
      async () => {
        if (++n === 2) await refresh.opened;
        return { json: { n } };
      },
    );
    await request(app).get('/r');
    await stored();
    clock.advance(3_000);
    const [a, b] = await Promise.all([request(app).get('/r'), request(app).get('/r')]);
    for (const res of [a, b]) {
      expect(res.body).toEqual({ n: 1 });
      expect(res.headers['cache-status']).toBe('keel; hit; ttl=-2; detail=stale-while-revalidate');
    }
    expect(calls()).toBe(2); // the one background refresh, still running
    refresh.release();
    await eventually(async () => (await request(app).get('/r')).body.n === 2);
    expect(calls()).toBe(2);
    expect((await request(app).get('/r')).headers['cache-status']).toBe('keel; hit; ttl=1');
  });

  it('stale-if-error: a 5xx, a thrown error or a timeout is answered with the stale copy', async () => {
    let mode: 'ok' | '500' | 'throw' | 'slow' = 'ok';
    const slow = gate();
    const { app, clock, stored } = setup(
      { ttlMs: 1_000, staleIfErrorMs: 60_000, originTimeoutMs: 100 },
      async () => {
        if (mode === '500') return { status: 500, json: { error: 'db down' } };
        if (mode === 'throw') return { throws: true };
        if (mode === 'slow') await slow.opened;
        return { json: { fresh: mode } };
      },
    );
    await request(app).get('/r');
    await stored();
    clock.advance(2_000);
    mode = '500';
    const e500 = await request(app).get('/r').expect(200);
    expect(e500.body).toEqual({ fresh: 'ok' });
    expect(e500.headers['cache-status']).toBe(
      'keel; fwd=stale; fwd-status=500; ttl=-1; detail=stale-if-error',
    );
    mode = 'throw';
    const thrown = await request(app).get('/r').expect(200);
    expect(thrown.body).toEqual({ fresh: 'ok' });
    expect(thrown.headers['cache-status']).toMatch(/^keel; fwd=stale;.*detail=stale-if-error$/);
    mode = 'slow';
    const started = performance.now();
    const late = await request(app).get('/r').expect(200);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(late.body).toEqual({ fresh: 'ok' });
    expect(late.headers['cache-status']).toBe('keel; fwd=stale; ttl=-1; detail=stale-if-error');
    slow.release();
  });

  it('collapses concurrent misses; a failed shared call answers its waiters at once', async () => {
    const hold = gate();
    let calls = 0;
    const { app } = setup({}, async () => {
      calls++;
      await hold.opened;
      return { status: 500, json: { error: 'down' } };
    });
    const server = await listen(app);
    try {
      const responses = Array.from({ length: 20 }, () => fetch(`${server.url}/r`));
      await eventually(() => calls === 1 && server.received() === 20);
      // Every request has arrived; let the last ones finish their lookup and join the flight.
      await new Promise((resolve) => setTimeout(resolve, 50));
      hold.release();
      const all = await Promise.all(responses);
      const statuses = all.map((r) => r.status).sort();
      expect(statuses.filter((s) => s === 500)).toHaveLength(1);
      expect(statuses.filter((s) => s === 503)).toHaveLength(19);
      const waiter = all.find((r) => r.status === 503)!;
      expect(waiter.headers.get('content-type')).toBe('application/problem+json');
      expect(waiter.headers.get('retry-after')).toBe('1');
      expect(await waiter.json()).toMatchObject({ code: 'KEEL_ERR_CACHE_SHARED_FILL_FAILED' });
      expect(calls).toBe(1);
    } finally {
      await server.close();
    }
  });

  it("runs each waiter's own handler when the shared response is not storable", async () => {
    const hold = gate();
    let calls = 0;
    const { app } = setup({}, async () => {
      const n = ++calls;
      await hold.opened;
      return { json: { n }, cookie: `session-${n}` };
    });
    const server = await listen(app);
    try {
      const responses = Array.from({ length: 10 }, () => fetch(`${server.url}/r`));
      await eventually(() => calls === 1 && server.received() === 10);
      // Every request has arrived; let the last ones finish their lookup and join the flight.
      await new Promise((resolve) => setTimeout(resolve, 50));
      hold.release();
      const all = await Promise.all(responses);
      expect(calls).toBe(10);
      for (const res of all) {
        const { n } = (await res.json()) as { n: number };
        expect(res.headers.get('set-cookie')).toContain(`sid=session-${n}`);
      }
    } finally {
      await server.close();
    }
  });
});

describe('koa response cache, a handler that throws', () => {
  it('reports the thrown error with the failed fill (cache.store, reason failed)', async () => {
    const events: KeelEvent[] = [];
    const cache = createCache({ clock: createManualClock(), events: (e) => events.push(e) });
    const app = koaApp({ cache }, () => ({ throws: true }));
    await request(app).get('/r').expect(500);
    const failed = events.filter(
      (e) => e.name === 'cache.store' && e.attributes.reason === 'failed',
    );
    expect(failed).toHaveLength(1);
    expect((failed[0]!.error as Error).message).toBe('handler failed');
  });
});
