/**
 * The session repository's conformance suite: the same cases, unchanged, against the memory
 * storage, a standalone Redis and the 3-master Cluster. Time moves with the injected clock in
 * memory; on Redis (whose TTLs run on the server clock) the cases check remaining TTLs instead
 * of waiting, except one short absolute-lifetime case.
 */
import { randomBytes } from 'node:crypto';
import { createManualClock, type KeelEvent, type ManualClock } from '@keel/core';
import {
  createRedisSessionStorage,
  type SessionData,
  SessionRepository,
  type SessionRepositoryOptions,
  type SessionStorage,
  SLIDE_SLACK_MS,
} from '@keel/session';
import type { Cluster, Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cleanupPrefix, testPrefix } from '../support/index.js';

/** One backend under test, fresh for each case. */
export interface SessionTarget {
  /** A storage over this case's keyspace (every call returns one over the same keyspace). */
  storage(): SessionStorage;
  /** Overwrite the raw stored payload of a session (corruption cases). */
  writeRaw(id: string, payload: string | Buffer): Promise<void>;
  /** Let `ms` of a session's idle TTL pass (the clock in memory; a shorter TTL on Redis). */
  age(id: string, ms: number): Promise<void>;
  cleanup(): Promise<void>;
}

export interface SessionCaps {
  /** The storage runs on the injected clock (memory); otherwise on the server's. */
  clock: boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const KEY = randomBytes(32);
const NEW_KEY = randomBytes(32);

export function describeSessionConformance(
  name: string,
  setup: (clock: ManualClock) => SessionTarget | Promise<SessionTarget>,
  caps: SessionCaps,
): void {
  describe(`session conformance: ${name}`, () => {
    let t: SessionTarget;
    let clock: ManualClock;
    let seen: KeelEvent[];
    const repo = (options: Omit<SessionRepositoryOptions, 'storage'> = {}) =>
      new SessionRepository({
        storage: t.storage(),
        events: (e) => seen.push(e),
        ...(caps.clock ? { clock } : {}),
        ...options,
      });
    const load = async (r: SessionRepository, id: string) => (await r.load(id))?.data;

    beforeEach(async () => {
      clock = createManualClock(Date.now());
      seen = [];
      t = await setup(clock);
    });
    afterEach(async () => {
      await t.cleanup();
    });

    it('saves, loads (a copy) and destroys a session', async () => {
      const r = repo();
      expect(await r.load('s1')).toBeUndefined();
      const data = { cookie: { originalMaxAge: 1000 }, user: 'ann', n: 1.5, list: [] };
      expect((await r.save('s1', data, { ttlMs: 60_000 })).status).toBe('saved');
      const loaded = await r.load('s1');
      expect(loaded?.data).toEqual(data);
      (loaded!.data as { user: string }).user = 'mutated';
      expect(await load(r, 's1')).toEqual(data);
      expect(loaded!.snapshot.ttlMs).toBeGreaterThan(59_000);
      expect(loaded!.snapshot.ttlMs).toBeLessThanOrEqual(60_000);
      await r.destroy('s1');
      expect(await r.load('s1')).toBeUndefined();
    });

    it('merges concurrent changes of different fields instead of losing one', async () => {
      const r = repo();
      await r.save('s', { cookie: { a: 1 }, keep: 'x', drop: true }, { ttlMs: 60_000 });
      const a = (await r.load('s'))!;
      const b = (await r.load('s'))!;
      await r.save('s', { ...a.data, cart: ['tea'] }, { ttlMs: 60_000, snapshot: a.snapshot });
      const { drop: _, ...withoutDrop } = b.data;
      await r.save('s', { ...withoutDrop, theme: 'dark' }, { ttlMs: 60_000, snapshot: b.snapshot });
      expect(await load(r, 's')).toEqual({
        cookie: { a: 1 },
        keep: 'x',
        cart: ['tea'],
        theme: 'dark',
      });
    });

    it('keeps untouched fields byte for byte (connect-redis reads the result)', async () => {
      const r = repo();
      const raw =
        '{"cookie":{"path":"/"},"big":12345678901234567890,"s":"\\u00e9\\/\\"{}","arr":[],"nested":{"a":[1,{"b":"}"}]}}';
      await t.writeRaw('raw', raw);
      const loaded = (await r.load('raw'))!;
      await r.save(
        'raw',
        { ...loaded.data, added: 1 },
        { ttlMs: 60_000, snapshot: loaded.snapshot },
      );
      const stored = await t.storage().read('raw');
      expect(stored!.payload.toString()).toBe(raw.replace(/}$/, ',"added":1}'));
    });

    it('refuses to resurrect a session destroyed while a request was running', async () => {
      const r = repo();
      await r.save('s', { user: 'ann' }, { ttlMs: 60_000 });
      const slow = (await r.load('s'))!;
      await r.destroy('s');
      const result = await r.save(
        's',
        { ...slow.data, late: true },
        { ttlMs: 60_000, snapshot: slow.snapshot },
      );
      expect(result.status).toBe('refused');
      expect(await r.load('s')).toBeUndefined();
      const lww = repo({ conflict: 'last-write-wins' });
      expect((await lww.save('s', { user: 'ann' }, { ttlMs: 60_000 })).status).toBe('refused');
      expect(seen.some((e) => e.name === 'session.write-refused')).toBe(true);
    });

    it('deletes on a TTL <= 0 and keeps a session forever with TTL -1', async () => {
      const r = repo();
      await r.save('s', { a: 1 }, { ttlMs: 60_000 });
      expect((await r.save('s', { a: 1 }, { ttlMs: 0 })).status).toBe('deleted');
      expect(await r.load('s')).toBeUndefined();
      await r.save('forever', { a: 1 }, { ttlMs: -1 });
      expect((await r.load('forever'))!.snapshot.ttlMs).toBe(-1);
    });

    it('touch slides the TTL forward but never shortens it', async () => {
      const r = repo();
      await r.save('s', { a: 1 }, { ttlMs: 10_000 });
      expect(await r.touch('s', { ttlMs: 5_000 })).toBe('skipped');
      expect((await r.load('s'))!.snapshot.ttlMs).toBeGreaterThan(9_000);
      expect(await r.touch('s', { ttlMs: 30_000 })).toBe('touched');
      const ttl = (await r.load('s'))!.snapshot.ttlMs;
      expect(ttl).toBeGreaterThan(29_000);
      expect(await r.touch('missing', { ttlMs: 30_000 })).toBe('missing');
      expect(await r.load('missing')).toBeUndefined();
    });

    it('a touch-save (koa-session changed:false) writes fields but never shortens the TTL', async () => {
      const r = repo();
      await r.save('s', { _expire: 1, a: 1 }, { ttlMs: 20_000 });
      const loaded = (await r.load('s'))!;
      await r.save(
        's',
        { ...loaded.data, _expire: 2 },
        { ttlMs: 5_000, snapshot: loaded.snapshot, touch: true },
      );
      const after = (await r.load('s'))!;
      expect(after.data).toEqual({ _expire: 2, a: 1 });
      expect(after.snapshot.ttlMs).toBeGreaterThan(15_000);
    });

    it('a sliding load does the touch: back to the idle TTL once behind, then touch() is free', async () => {
      const r = repo();
      await r.save('s', { a: 1 }, { ttlMs: 60_000 });
      // Within SLIDE_SLACK_MS of full: nothing to slide, and the touch after it is skipped.
      const fresh = (await r.load('s', { slide: true }))!;
      expect(fresh.data).toEqual({ a: 1 });
      expect(fresh.snapshot.touchSlackMs).toBe(SLIDE_SLACK_MS);
      expect(await r.touch('s', { ttlMs: 60_000, snapshot: fresh.snapshot })).toBe('skipped');
      // 20 s later a plain load only reads; a sliding one extends it back to 60 s.
      await t.age('s', 20_000);
      expect((await r.load('s'))!.snapshot.ttlMs).toBeLessThanOrEqual(40_000);
      const slid = (await r.load('s', { slide: true }))!;
      expect(slid.snapshot.ttlMs).toBeGreaterThan(59_000);
      expect((await r.load('s'))!.snapshot.ttlMs).toBeGreaterThan(59_000);
      expect(await r.touch('s', { ttlMs: 60_000, snapshot: slid.snapshot })).toBe('skipped');
      // A request that ran longer than the slack touches at its end as before.
      await t.age('s', 5_000);
      if (!caps.clock) slid.snapshot.loadedAt -= 5_000;
      expect(await r.touch('s', { ttlMs: 60_000, snapshot: slid.snapshot })).toBe('touched');
      expect(await r.load('missing', { slide: true })).toBeUndefined();
    });

    it('a sliding load never shortens, never passes the absolute lifetime, never slides what Keel did not write', async () => {
      const r = repo({ absoluteTtlMs: 30_000 });
      await r.save('s', { a: 1 }, { ttlMs: 60_000 });
      await t.age('s', 10_000);
      // Never past the absolute lifetime (30 s from creation).
      const capped = (await r.load('s', { slide: true }))!;
      expect(capped.snapshot.ttlMs).toBeLessThanOrEqual(30_000);
      // A remember-me write (longer TTL) slides back to that TTL, not to a shorter one.
      const long = repo();
      await long.save('long', { a: 1 }, { ttlMs: 120_000 });
      await t.age('long', 30_000);
      expect((await long.load('long', { slide: true }))!.snapshot.ttlMs).toBeGreaterThan(119_000);
      // Written by connect-redis (no idle TTL known): read only, until a touch records one.
      // (Only Redis has other writers: the memory storage's raw writes go through Keel.)
      if (caps.clock) return;
      await t.writeRaw('foreign', '{"a":1}');
      await t.age('foreign', 30_000);
      const foreign = (await long.load('foreign', { slide: true }))!;
      expect(foreign.snapshot.ttlMs).toBeLessThanOrEqual(30_000);
      expect(await long.touch('foreign', { ttlMs: 60_000, snapshot: foreign.snapshot })).toBe(
        'touched',
      );
      await t.age('foreign', 30_000);
      expect((await long.load('foreign', { slide: true }))!.snapshot.ttlMs).toBeGreaterThan(59_000);
    });

    it('touchAfterMs skips touches of a session that still has nearly its full TTL', async () => {
      const r = repo({ touchAfterMs: 15_000 });
      await r.save('s', { a: 1 }, { ttlMs: 50_000 });
      const loaded = (await r.load('s'))!;
      expect(await r.touch('s', { ttlMs: 60_000, snapshot: loaded.snapshot })).toBe('skipped');
      // 10 s later (on Redis, whose clock cannot move, as far as the repository knows).
      if (caps.clock) clock.advance(10_000);
      else loaded.snapshot.loadedAt -= 10_000;
      expect(await r.touch('s', { ttlMs: 60_000, snapshot: loaded.snapshot })).toBe('touched');
    });

    it('caps every write and touch at the absolute lifetime', async () => {
      const r = repo({ absoluteTtlMs: 5_000 });
      await r.save('s', { a: 1 }, { ttlMs: 60_000 });
      const loaded = (await r.load('s'))!;
      expect(loaded.snapshot.ttlMs).toBeLessThanOrEqual(5_000);
      expect(loaded.snapshot.createdAtMs).toBeGreaterThan(0);
      await r.touch('s', { ttlMs: 60_000 });
      expect((await r.load('s'))!.snapshot.ttlMs).toBeLessThanOrEqual(5_000);
      await r.save('s', { ...loaded.data, b: 2 }, { ttlMs: 60_000, snapshot: loaded.snapshot });
      expect((await r.load('s'))!.snapshot.ttlMs).toBeLessThanOrEqual(5_000);
    });

    it('ends a session at its absolute lifetime: a later write cannot revive it', async () => {
      const r = repo({ absoluteTtlMs: caps.clock ? 5_000 : 150 });
      await r.save('s', { a: 1 }, { ttlMs: 60_000 });
      const loaded = (await r.load('s'))!;
      if (caps.clock) clock.advance(6_000);
      else await sleep(200);
      expect(await r.load('s')).toBeUndefined();
      const late = await r.save(
        's',
        { ...loaded.data, b: 2 },
        { ttlMs: 60_000, snapshot: loaded.snapshot },
      );
      expect(late.status).toBe('refused');
      expect(await r.load('s')).toBeUndefined();
    });

    if (caps.clock) {
      it('expires idle sessions and tombstones on the clock', async () => {
        const r = repo({ tombstoneTtlMs: 1_000 });
        await r.save('s', { a: 1 }, { ttlMs: 1_000 });
        clock.advance(1_001);
        expect(await r.load('s')).toBeUndefined();
        await r.destroy('t');
        expect((await r.save('t', { a: 1 }, { ttlMs: 1_000 })).status).toBe('refused');
        clock.advance(1_001);
        expect((await r.save('t', { a: 1 }, { ttlMs: 1_000 })).status).toBe('saved');
      });
    }

    it("lists a user's sessions and logs the user out everywhere", async () => {
      const r = repo({ userId: (s) => (typeof s.user === 'string' ? s.user : undefined) });
      for (const id of ['a1', 'a2', 'a3']) await r.save(id, { user: 'ann' }, { ttlMs: 60_000 });
      await r.save('b1', { user: 'bob' }, { ttlMs: 60_000 });
      await r.save('anon', { cart: [] }, { ttlMs: 60_000 });
      expect((await r.listForUser('ann')).map((s) => s.id).sort()).toEqual(['a1', 'a2', 'a3']);
      // A session that switched user, and one that ended, drop out of the listing.
      const a3 = (await r.load('a3'))!;
      await r.save('a3', { user: 'bob' }, { ttlMs: 60_000, snapshot: a3.snapshot });
      await r.destroy('a2');
      const listed = await r.listForUser('ann');
      expect(listed.map((s) => s.id)).toEqual(['a1']);
      expect(listed[0]!.createdAt).toBeInstanceOf(Date);
      expect(listed[0]!.expiresAt!.getTime()).toBeGreaterThan(Date.now() - 60_000);
      // A request of a1 that loaded before the logout must not bring it back.
      const slow = (await r.load('a1'))!;
      expect(await r.destroyAllForUser('ann')).toBe(1);
      expect(await r.load('a1')).toBeUndefined();
      expect(
        (await r.save('a1', { ...slow.data, x: 1 }, { ttlMs: 60_000, snapshot: slow.snapshot }))
          .status,
      ).toBe('refused');
      expect(await load(r, 'a3')).toEqual({ user: 'bob' });
      expect((await r.listForUser('bob')).map((s) => s.id).sort()).toEqual(['a3', 'b1']);
      expect(await r.destroyAllForUser('bob', { exceptId: 'b1' })).toBe(1);
      expect(await load(r, 'b1')).toEqual({ user: 'bob' });
    });

    it.each([false, true])(
      'counts, lists, reads and clears every session (index %s)',
      async (index) => {
        const r = repo({ index, scanCount: 7 });
        const ids = Array.from({ length: 25 }, (_, i) => `bulk-${i}`);
        for (const id of ids) await r.save(id, { n: id }, { ttlMs: 60_000 });
        await r.destroy('bulk-0');
        expect(await r.length()).toBe(24);
        expect((await r.ids()).sort()).toEqual(ids.slice(1).sort());
        const all = await r.all();
        expect(all).toHaveLength(24);
        expect(all.find((s) => s.id === 'bulk-3')?.data).toEqual({ n: 'bulk-3' });
        let pages = 0;
        for await (const page of r.idPages()) {
          pages++;
          expect(page.length).toBeGreaterThan(0);
        }
        // SCAN pages by COUNT; a small index set comes back in one ZSCAN reply.
        if (!index) expect(pages).toBeGreaterThan(1);
        await r.clear();
        expect(await r.length()).toBe(0);
        expect(await r.load('bulk-3')).toBeUndefined();
      },
    );

    it('treats a corrupt payload as no session, with an event', async () => {
      const r = repo();
      await t.writeRaw('bad', '{"cookie":');
      expect(await r.load('bad')).toBeUndefined();
      expect(seen.find((e) => e.name === 'session.corrupt')?.attributes).toMatchObject({
        reason: 'parse',
      });
      await t.writeRaw('arr', '[1,2]');
      expect(await r.load('arr')).toBeUndefined();
    });

    it('treats a session of the wrong shape for its library as no session, naming the field', async () => {
      const express = repo({ shape: 'express-session' });
      const koa = repo({ shape: 'koa-session' });
      const cookie =
        '"cookie":{"originalMaxAge":60000,"expires":"2030-01-01T00:00:00.000Z","path":"/"}';
      const cases: [SessionRepository, string, string][] = [
        [express, '{"user":"ann"}', 'cookie'],
        [express, '{"cookie":5,"user":"ann"}', 'cookie'],
        [express, '{"cookie":{"originalMaxAge":"1h"}}', 'cookie.originalMaxAge'],
        [express, '{"cookie":{"expires":"someday"}}', 'cookie.expires'],
        [express, '{"cookie":{"maxAge":1e999}}', 'cookie.maxAge'],
        [express, '{"cookie":{"path":"/\\n"}}', 'cookie.path'],
        [koa, '{"user":"ann","toJSON":1}', 'toJSON'],
        [koa, '{"user":"ann","_maxAge":"1h"}', '_maxAge'],
        [koa, '{"user":"ann","_expire":1e999}', '_expire'],
      ];
      for (const [r, payload, field] of cases) {
        seen = [];
        await t.writeRaw('odd', payload);
        expect(await r.load('odd'), payload).toBeUndefined();
        expect(seen.map((e) => e.attributes)).toEqual([
          expect.objectContaining({ reason: 'shape', field }),
        ]);
      }
      // What the libraries write passes; any JSON object passes the default shape.
      await t.writeRaw('fine', `{${cookie},"user":"ann"}`);
      expect(await load(express, 'fine')).toMatchObject({ user: 'ann' });
      await t.writeRaw('fine', '{"user":"ann","_expire":1893456000000,"_maxAge":60000}');
      expect(await load(koa, 'fine')).toMatchObject({ user: 'ann' });
      await t.writeRaw('fine', '{"user":"ann"}');
      expect(await load(repo(), 'fine')).toEqual({ user: 'ann' });
    });

    it('a creation time that is not a whole number is unknown: the lifetime starts now', async () => {
      const storage = t.storage();
      for (const createdAtMs of [1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
        const result = await storage.save('born', {
          payload: '{"user":"ann"}',
          ttlMs: 60_000,
          absoluteTtlMs: 3_600_000,
          touch: false,
          userHash: '',
          createdAtMs,
        });
        expect(result.status).toBe('ok');
        const read = await storage.read('born');
        expect(read?.createdAtMs).toSatisfy(Number.isSafeInteger);
        expect(read?.createdAtMs).toBeGreaterThan(0);
        await storage.destroy('born', 0);
      }
    });

    it('rejects ids that cannot be keys, and treats them as no session on read', async () => {
      const r = repo();
      expect(await r.load('a{b}')).toBeUndefined();
      await expect(r.save('a b', {}, { ttlMs: 1_000 })).rejects.toMatchObject({
        code: 'KEEL_ERR_SESSION_INVALID_ID',
      });
    });

    describe('with compression and encryption', () => {
      const codecs = (keys: Record<string, Buffer>, currentKeyId: string) => ({
        compression: { thresholdBytes: 64 },
        encryption: { keys, currentKeyId },
      });

      it('round-trips, and merges concurrent changes by compare-and-set', async () => {
        const r = repo(codecs({ k1: KEY }, 'k1'));
        const big = 'x'.repeat(500);
        await r.save('s', { big, a: 1 }, { ttlMs: 60_000 });
        const raw = (await t.storage().read('s'))!.payload;
        expect(raw.includes(Buffer.from('xxxx'))).toBe(false);
        expect(raw.length).toBeLessThan(200);
        const a = (await r.load('s'))!;
        const b = (await r.load('s'))!;
        await r.save('s', { ...a.data, fromA: true }, { ttlMs: 60_000, snapshot: a.snapshot });
        await r.save('s', { ...b.data, fromB: true }, { ttlMs: 60_000, snapshot: b.snapshot });
        expect(await load(r, 's')).toEqual({ big, a: 1, fromA: true, fromB: true });
        expect(seen.some((e) => e.name === 'session.conflict')).toBe(true);
      });

      it('rotates keys: old payloads read while their key is kept, then count as corrupt', async () => {
        await repo(codecs({ k1: KEY }, 'k1')).save('s', { a: 1 }, { ttlMs: 60_000 });
        const rotated = repo(codecs({ k2: NEW_KEY, k1: KEY }, 'k2'));
        const loaded = (await rotated.load('s'))!;
        expect(loaded.data).toEqual({ a: 1 });
        await rotated.save('s2', { b: 2 }, { ttlMs: 60_000 });
        const dropped = repo(codecs({ k2: NEW_KEY }, 'k2'));
        expect(await dropped.load('s')).toBeUndefined();
        expect(await load(dropped, 's2')).toEqual({ b: 2 });
        expect(seen.find((e) => e.name === 'session.corrupt')?.attributes).toMatchObject({
          reason: 'unknown-key',
        });
      });

      it('binds a ciphertext to its session id and reads plaintext only when allowed', async () => {
        const r = repo(codecs({ k1: KEY }, 'k1'));
        await r.save('s', { a: 1 }, { ttlMs: 60_000 });
        await t.writeRaw('copy', (await t.storage().read('s'))!.payload);
        expect(await r.load('copy')).toBeUndefined();
        await t.writeRaw('plain', '{"a":1}');
        expect(await load(r, 'plain')).toEqual({ a: 1 });
        const strict = repo({
          encryption: { keys: { k1: KEY }, currentKeyId: 'k1', acceptPlaintext: false },
        });
        expect(await strict.load('plain')).toBeUndefined();
      });
    });

    it('last-write-wins replaces the whole session, like connect-redis', async () => {
      const r = repo({ conflict: 'last-write-wins' });
      await r.save('s', { a: 1 }, { ttlMs: 60_000 });
      const a = (await r.load('s'))!;
      const b = (await r.load('s'))!;
      await r.save('s', { ...a.data, x: 1 } as SessionData, {
        ttlMs: 60_000,
        snapshot: a.snapshot,
      });
      await r.save('s', { ...b.data, y: 1 } as SessionData, {
        ttlMs: 60_000,
        snapshot: b.snapshot,
      });
      expect(await load(r, 's')).toEqual({ a: 1, y: 1 });
    });
  });
}

/**
 * The suite on a Redis backend: `client` is the storage's client (any kind Keel accepts), `raw`
 * an ioredis client to the same data for the cases' own writes. Both are getters, so clients a
 * file creates in `beforeAll` are read when a case starts.
 */
export function describeRedisSessionConformance(
  name: string,
  client: () => Parameters<typeof createRedisSessionStorage>[0]['client'],
  raw: () => Redis | Cluster,
): void {
  describeSessionConformance(
    name,
    () => {
      const prefix = testPrefix();
      return {
        storage: () => createRedisSessionStorage({ client: client(), prefix, indexPrefix: prefix }),
        writeRaw: async (id, payload) => {
          await raw().set(`${prefix}${id}`, payload, 'PX', 60_000);
        },
        age: async (id, ms) => {
          // The server clock cannot move: shrink the remaining TTL instead.
          const pttl = await raw().pttl(`${prefix}${id}`);
          await raw().pexpire(`${prefix}${id}`, pttl - ms);
        },
        cleanup: async () => {
          await cleanupPrefix(raw(), prefix);
          await cleanupPrefix(raw(), `{${prefix}`);
        },
      };
    },
    { clock: false },
  );
}
