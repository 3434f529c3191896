/**
 * The idempotency store conformance suite: one list of state-machine cases run unchanged
 * against the memory store, a standalone Redis and a 3-master Cluster. Time is a manual clock
 * (the Redis store's `clockForTests`), so leases expire without sleeping.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createManualClock, type ManualClock } from '@keel/core';
import {
  type AcquireRequest,
  createRedisIdempotencyStore,
  type IdempotencyStore,
  type StoredResponse,
} from '@keel/idempotency';
import type { Cluster, Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupPrefix, testPrefix } from '../support/index.js';
import { describeCallConformance } from './idempotency-calls.js';

export interface ConformanceStore {
  store: IdempotencyStore;
  cleanup?: () => Promise<unknown>;
}

export interface IdempotencyConformanceCaps {
  /** The clock also drives record expiry (memory); Redis expires keys on its own clock. */
  clockDrivesExpiry: boolean;
}

const LEASE = 30_000;
const RETENTION = 3_600_000;

export function describeIdempotencyConformance(
  name: string,
  makeStore: (clock: ManualClock) => Promise<ConformanceStore> | ConformanceStore,
  caps: IdempotencyConformanceCaps,
): void {
  describe(`idempotency store conformance: ${name}`, () => {
    let cleanup: (() => Promise<unknown>) | undefined;
    afterEach(async () => {
      await cleanup?.();
      cleanup = undefined;
    });

    async function setup() {
      const clock = createManualClock();
      const made = await makeStore(clock);
      cleanup = made.cleanup;
      const store = made.store;
      const record = `record-${randomUUID()}`;
      const request = (overrides: Partial<AcquireRequest> = {}): AcquireRequest => ({
        record,
        token: randomUUID(),
        fingerprint: 'fp-1',
        leaseMs: LEASE,
        retentionMs: RETENTION,
        ...overrides,
      });
      return { clock, store, record, request };
    }

    const response = (body = randomBytes(64)): StoredResponse => ({
      status: 201,
      headers: {
        'content-type': 'application/octet-stream',
        location: '/orders/1',
        link: ['<a>', '<b>'],
      },
      body,
    });

    it('claims an absent record, and a re-sent claim with the same token is still a claim', async () => {
      const { store, request } = await setup();
      const first = request();
      expect(await store.acquire(first)).toEqual({ kind: 'claimed' });
      expect(await store.acquire(first)).toEqual({ kind: 'claimed' });
    });

    it('answers in-flight with the exact lease left while the owner runs', async () => {
      const { clock, store, request } = await setup();
      await store.acquire(request());
      clock.advance(10_000);
      expect(await store.acquire(request())).toEqual({ kind: 'in-flight', retryAfterMs: 20_000 });
    });

    it('answers mismatch for another fingerprint, in progress and completed', async () => {
      const { store, record, request } = await setup();
      const owner = request();
      await store.acquire(owner);
      expect(await store.acquire(request({ fingerprint: 'fp-2' }))).toEqual({ kind: 'mismatch' });
      await store.complete(record, owner.token, { stored: true, response: response() }, RETENTION);
      expect(await store.acquire(request({ fingerprint: 'fp-2' }))).toEqual({ kind: 'mismatch' });
    });

    it('replays a completed response byte for byte, headers included', async () => {
      const { store, record, request } = await setup();
      const owner = request();
      await store.acquire(owner);
      const body = Buffer.concat([Buffer.from([0, 255, 13, 10, 0xc3, 0x28]), randomBytes(4096)]);
      const stored = response(body);
      expect(
        await store.complete(record, owner.token, { stored: true, response: stored }, RETENTION),
      ).toEqual({ ok: true });
      const replay = await store.acquire(request());
      expect(replay.kind).toBe('replay');
      if (replay.kind !== 'replay') return;
      expect(replay.response.status).toBe(201);
      expect(replay.response.headers).toEqual(stored.headers);
      expect(Buffer.compare(Buffer.from(replay.response.body), body)).toBe(0);
    });

    it('replays an empty body as empty', async () => {
      const { store, record, request } = await setup();
      const owner = request();
      await store.acquire(owner);
      await store.complete(
        record,
        owner.token,
        { stored: true, response: { status: 204, headers: {}, body: new Uint8Array(0) } },
        RETENTION,
      );
      const replay = await store.acquire(request());
      expect(replay).toMatchObject({ kind: 'replay', response: { status: 204, headers: {} } });
      if (replay.kind === 'replay') expect(replay.response.body.length).toBe(0);
    });

    it('remembers only the status of a response too large to keep', async () => {
      const { store, record, request } = await setup();
      const owner = request();
      await store.acquire(owner);
      await store.complete(record, owner.token, { stored: false, status: 200 }, RETENTION);
      expect(await store.acquire(request())).toEqual({ kind: 'not-stored', status: 200 });
    });

    it('release lets the next request claim again', async () => {
      const { store, record, request } = await setup();
      const owner = request();
      await store.acquire(owner);
      expect(await store.release(record, owner.token)).toEqual({ ok: true });
      expect(await store.acquire(request())).toEqual({ kind: 'claimed' });
    });

    it('takes over an expired lease and fences the previous owner', async () => {
      const { clock, store, record, request } = await setup();
      const dead = request();
      await store.acquire(dead);
      clock.advance(LEASE + 5);
      const next = request();
      expect(await store.acquire(next)).toEqual({ kind: 'taken-over', expiredMsAgo: 5 });
      // The dead worker wakes up: every one of its transitions is refused.
      expect(await store.renew(record, dead.token, LEASE, RETENTION)).toEqual({
        ok: false,
        reason: 'taken-over',
      });
      expect(
        await store.complete(record, dead.token, { stored: true, response: response() }, RETENTION),
      ).toEqual({ ok: false, reason: 'taken-over' });
      expect(await store.release(record, dead.token)).toEqual({ ok: false, reason: 'taken-over' });
      // The new owner is untouched by all of that.
      expect(await store.acquire(request())).toMatchObject({ kind: 'in-flight' });
      const winner = response(Buffer.from('winner'));
      await store.complete(record, next.token, { stored: true, response: winner }, RETENTION);
      expect(
        await store.complete(record, dead.token, { stored: true, response: response() }, RETENTION),
      ).toEqual({ ok: false, reason: 'completed' });
      const replay = await store.acquire(request());
      expect(replay.kind === 'replay' && Buffer.from(replay.response.body).toString()).toBe(
        'winner',
      );
    });

    it('a late completion after the lease expired, before any takeover, still completes', async () => {
      const { clock, store, record, request } = await setup();
      const slow = request();
      await store.acquire(slow);
      clock.advance(LEASE * 2);
      // Nobody else ran the request, so keeping the owner's response is safe (token, not time, fences).
      expect(
        await store.complete(record, slow.token, { stored: true, response: response() }, RETENTION),
      ).toEqual({ ok: true });
      expect((await store.acquire(request())).kind).toBe('replay');
    });

    it('renew extends the lease from now', async () => {
      const { clock, store, record, request } = await setup();
      const owner = request();
      await store.acquire(owner);
      clock.advance(20_000);
      expect(await store.renew(record, owner.token, LEASE, RETENTION)).toEqual({ ok: true });
      clock.advance(20_000);
      expect(await store.acquire(request())).toEqual({ kind: 'in-flight', retryAfterMs: 10_000 });
    });

    it('fences transitions on a record that is gone', async () => {
      const { store, record } = await setup();
      const token = randomUUID();
      expect(await store.renew(record, token, LEASE, RETENTION)).toEqual({
        ok: false,
        reason: 'gone',
      });
      expect(await store.release(record, token)).toEqual({ ok: false, reason: 'gone' });
      expect(
        await store.complete(record, token, { stored: true, response: response() }, RETENTION),
      ).toEqual({ ok: false, reason: 'gone' });
    });

    it('a re-sent completion by the owner is acknowledged, not fenced', async () => {
      const { store, record, request } = await setup();
      const owner = request();
      await store.acquire(owner);
      const done = { stored: true as const, response: response() };
      expect(await store.complete(record, owner.token, done, RETENTION)).toEqual({ ok: true });
      expect(await store.complete(record, owner.token, done, RETENTION)).toEqual({ ok: true });
      expect(await store.release(record, owner.token)).toEqual({ ok: false, reason: 'completed' });
    });

    it('keeps records apart', async () => {
      const { store, request } = await setup();
      await store.acquire(request({ record: `a${randomUUID()}` }));
      expect(await store.acquire(request({ record: `b${randomUUID()}` }))).toEqual({
        kind: 'claimed',
      });
    });

    it('grants exactly one of 1,000 concurrent claims', async () => {
      const { store, request } = await setup();
      const outcomes = await Promise.all(
        Array.from({ length: 1000 }, () => store.acquire(request())),
      );
      expect(outcomes.filter((o) => o.kind === 'claimed')).toHaveLength(1);
      expect(outcomes.filter((o) => o.kind === 'in-flight')).toHaveLength(999);
    });

    it.skipIf(!caps.clockDrivesExpiry)(
      'forgets a completed record after its retention',
      async () => {
        const { clock, store, record, request } = await setup();
        const owner = request();
        await store.acquire(owner);
        clock.advance(1000);
        await store.complete(record, owner.token, { stored: true, response: response() }, 5000);
        clock.advance(4999);
        expect((await store.acquire(request())).kind).toBe('replay');
        clock.advance(1);
        expect(await store.acquire(request())).toEqual({ kind: 'claimed' });
      },
    );

    describeCallConformance(makeStore);
  });
}

/** A Redis deployment under test: the client Keel gets, and ioredis on the same data. */
export interface RedisBackend {
  client: Parameters<typeof createRedisIdempotencyStore>[0]['client'];
  raw: Redis | Cluster;
}

/** The suite on one Redis deployment (the server's clock runs: expiry is not clock-driven). */
export function describeRedisIdempotencyConformance(
  name: string,
  backend: () => RedisBackend | Promise<RedisBackend>,
): void {
  describeIdempotencyConformance(
    name,
    async (clock) => {
      const { client, raw } = await backend();
      const prefix = testPrefix();
      return {
        store: createRedisIdempotencyStore({ client, prefix, clockForTests: clock }),
        cleanup: () => cleanupPrefix(raw, prefix),
      };
    },
    { clockDrivesExpiry: false },
  );
}
