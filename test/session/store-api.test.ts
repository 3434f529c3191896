/**
 * The stores' public contracts as the session libraries call them: express-session's `Store`
 * methods with callbacks and with promises, koa-session's `get`/`set`/`destroy` (including
 * `maxAge: 'session'`), option validation, and the memory store's bounds.
 */
import { createManualClock } from '@keel/core';
import * as keelExpress from '@keel/express';
import * as keelKoa from '@keel/koa';
import session from 'express-session';
import { describe, expect, it } from 'vitest';

const cookie = (maxAgeMs = 60_000) => ({
  originalMaxAge: maxAgeMs,
  expires: new Date(Date.now() + maxAgeMs),
  httpOnly: true,
  path: '/',
});

/** Call a callback-style method and resolve with [error, value]. */
function viaCallback<T>(run: (callback: (error?: unknown, value?: T) => void) => void) {
  return new Promise<[unknown, T | undefined]>((resolve) =>
    run((error, value) => resolve([error ?? null, value])),
  );
}

describe('express-session store contract', () => {
  it('is an express-session Store', () => {
    expect(new keelExpress.SessionStore()).toBeInstanceOf(session.Store);
  });

  it('answers every method through callbacks and through promises', async () => {
    const store = new keelExpress.SessionStore();
    expect(
      await viaCallback((cb) => store.set('a', { cookie: cookie(), n: 1 } as never, cb)),
    ).toEqual([null, undefined]);
    await store.set('b', { cookie: cookie(), n: 2 } as never);
    expect(await viaCallback((cb) => store.get('a', cb))).toEqual([
      null,
      expect.objectContaining({ n: 1 }),
    ]);
    expect(await store.get('missing')).toBeNull();
    expect(await viaCallback((cb) => store.get('missing', cb))).toEqual([null, null]);
    expect(await viaCallback((cb) => store.length(cb))).toEqual([null, 2]);
    expect(((await store.ids()) as string[]).sort()).toEqual(['a', 'b']);
    const [, all] = await viaCallback<unknown[]>((cb) => store.all(cb));
    expect(all).toEqual(expect.arrayContaining([expect.objectContaining({ id: 'a', n: 1 })]));
    expect(await viaCallback((cb) => store.touch('a', { cookie: cookie() } as never, cb))).toEqual([
      null,
      undefined,
    ]);
    expect(await viaCallback((cb) => store.destroy('a', cb))).toEqual([null, undefined]);
    expect(await store.get('a')).toBeNull();
    await store.clear();
    expect(await store.length()).toBe(0);
  });

  it('deletes a session whose cookie has expired (TTL <= 0), as connect-redis does', async () => {
    const store = new keelExpress.SessionStore();
    await store.set('a', { cookie: cookie(), n: 1 } as never);
    await store.set('a', {
      cookie: { ...cookie(), expires: new Date(Date.now() - 1000) },
      n: 1,
    } as never);
    expect(await store.get('a')).toBeNull();
  });

  it('rejects unknown or invalid options at construction', () => {
    expect(() => new keelExpress.SessionStore({ ttll: 5 } as never)).toThrow(
      /unknown option "ttll" \(did you mean "ttl"\?\)/,
    );
    expect(() => new keelExpress.SessionStore({ ttl: -1 })).toThrow(/ttl/);
    expect(() => new keelExpress.SessionStore({ conflict: 'merge-ish' as never })).toThrow(
      /conflict/,
    );
    expect(() => new keelExpress.SessionStore({ prefix: 'sess:{x}' } as never)).not.toThrow(); // memory: prefix is a label
  });

  it('the memory store is bounded: the least recently used session is evicted', async () => {
    const store = new keelExpress.SessionStore({ memory: { maxEntries: 3 } });
    for (const id of ['s1', 's2', 's3', 's4']) await store.set(id, { cookie: cookie() } as never);
    expect(await store.get('s1')).toBeNull();
    expect(await store.length()).toBe(3);
  });
});

describe('koa-session store contract', () => {
  it('gets, sets and destroys; maxAge "session" uses sessionTtlMs', async () => {
    const clock = createManualClock();
    const store = new keelKoa.SessionStore({ sessionTtlMs: 5_000, memory: { clock } });
    await store.set('k1', { user: 'ann', _session: true }, 'session', { changed: true });
    expect(await store.get('k1', 'session', {})).toEqual({ user: 'ann', _session: true });
    clock.advance(5_001);
    expect(await store.get('k1', 'session', {})).toBeNull();
    await store.set('k2', { user: 'bob', _expire: 1, _maxAge: 1000 }, 11_000, { changed: true });
    clock.advance(10_000);
    expect(await store.get('k2', 1000, {})).toMatchObject({ user: 'bob' });
    await store.destroy('k2', {});
    expect(await store.get('k2', 1000, {})).toBeNull();
  });

  it('rejects unknown options', () => {
    expect(() => new keelKoa.SessionStore({ maxAge: 1 } as never)).toThrow(
      /unknown option "maxAge"/,
    );
  });
});
