/**
 * The rate-limit store conformance suite: one list of cases run unchanged against the memory
 * store, a standalone Redis and a 3-master Cluster, for every algorithm: boundaries, refill,
 * reset and retry times, refunds, multi-policy atomicity. Time is a manual clock (the Redis
 * store's `clockForTests`), so windows pass without sleeping.
 */
import { randomUUID } from 'node:crypto';
import { createManualClock, type ManualClock } from '@keel/core';
import {
  type AlgorithmName,
  createRedisStore,
  type RateLimitStore,
  RETRY_NEVER,
  type StoreCheckResult,
  type StorePolicy,
} from '@keel/rate-limit';
import type { Cluster, Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupPrefix, testPrefix } from '../support/index.js';
import { describeKeyConformance } from './rate-limit-keys.js';

export interface ConformanceStore {
  store: RateLimitStore;
  cleanup?: () => Promise<unknown>;
}

// biome-ignore lint/complexity/noBannedTypes: no backend declares a gap yet; the hook stays.
export type RateLimitConformanceCaps = {};

const ALL: AlgorithmName[] = [
  'fixed-window',
  'sliding-log',
  'sliding-window',
  'token-bucket',
  'gcra',
];

function policy(
  algorithm: AlgorithmName,
  limit: number,
  windowMs: number,
  name = 'p',
  burst = limit,
): StorePolicy {
  return { keyParts: ['conf', name, algorithm], algorithm, limit, windowMs, burst };
}

export function describeRateLimitConformance(
  name: string,
  makeStore: (clock: ManualClock) => Promise<ConformanceStore> | ConformanceStore,
  _caps: RateLimitConformanceCaps = {},
): void {
  describe(`rate-limit store conformance: ${name}`, () => {
    let cleanup: (() => Promise<unknown>) | undefined;
    afterEach(async () => {
      await cleanup?.();
      cleanup = undefined;
    });

    async function setup() {
      // Start on a window boundary of every window used below, so aligned windows are predictable.
      const clock = createManualClock(1_700_000_000_000 - (1_700_000_000_000 % 3_600_000));
      const made = await makeStore(clock);
      cleanup = made.cleanup;
      const clientKey = `client-${randomUUID()}`;
      const { store } = made;
      const check = (policies: StorePolicy[], cost = 1) =>
        store.check({ clientKey, cost, policies });
      const refund = (policies: StorePolicy[], result: StoreCheckResult, cost = 1) =>
        store.refund({
          clientKey,
          cost,
          policies,
          receipts: result.decisions.map((d) => d.receipt),
        });
      return { clock, store, clientKey, check, refund };
    }

    describe.each(ALL)('%s', (algorithm) => {
      it('allows exactly the limit, counts remaining down, then refuses', async () => {
        const { check } = await setup();
        const p = [policy(algorithm, 3, 1000)];
        const remaining: number[] = [];
        for (let i = 0; i < 3; i++) {
          const r = await check(p);
          expect(r.allowed).toBe(true);
          remaining.push(r.decisions[0]!.remaining);
        }
        expect(remaining).toEqual([2, 1, 0]);
        const refused = await check(p);
        expect(refused.allowed).toBe(false);
        expect(refused.decisions[0]).toMatchObject({ allowed: false, remaining: 0 });
        expect(refused.decisions[0]!.retryAfterMs).toBeGreaterThan(0);
      });

      it('lets the request through exactly at its retry time, not 1 ms before', async () => {
        const { clock, check } = await setup();
        const p = [policy(algorithm, 5, 1000)];
        clock.advance(250);
        for (let i = 0; i < 5; i++) expect((await check(p)).allowed).toBe(true);
        const refused = await check(p);
        const retry = refused.decisions[0]!.retryAfterMs;
        expect(retry).toBeGreaterThan(0);
        clock.advance(retry - 1);
        expect((await check(p)).allowed).toBe(false);
        clock.advance(1);
        expect((await check(p)).allowed).toBe(true);
      });

      it('is whole again after its reset time', async () => {
        const { clock, check } = await setup();
        const p = [policy(algorithm, 4, 1000)];
        let last: StoreCheckResult | undefined;
        for (let i = 0; i < 4; i++) last = await check(p);
        clock.advance(last!.decisions[0]!.resetMs);
        const r = await check(p, 4);
        expect(r.allowed).toBe(true);
        expect(r.decisions[0]!.remaining).toBe(0);
      });

      it('charges the cost, and refuses a cost larger than what is left without charging', async () => {
        const { check } = await setup();
        const p = [policy(algorithm, 10, 60_000)];
        expect((await check(p, 7)).decisions[0]!.remaining).toBe(3);
        const refused = await check(p, 4);
        expect(refused.allowed).toBe(false);
        expect(refused.decisions[0]!.remaining).toBe(3);
        expect((await check(p, 3)).decisions[0]!.remaining).toBe(0);
      });

      it('refuses a cost above the capacity for good, promising no retry and charging nothing', async () => {
        const { clock, check } = await setup();
        const p = [policy(algorithm, 3, 1000)];
        expect((await check(p)).allowed).toBe(true);
        const refused = await check(p, 4);
        expect(refused.allowed).toBe(false);
        expect(refused.decisions[0]).toMatchObject({ remaining: 2, retryAfterMs: RETRY_NEVER });
        // Not even a whole idle hour lets it pass; the quota itself comes back as usual.
        clock.advance(3_600_000);
        expect((await check(p, 4)).decisions[0]!.retryAfterMs).toBe(RETRY_NEVER);
        expect((await check(p, 3)).allowed).toBe(true);
      });

      it('works with sub-second windows, which expire', async () => {
        const { clock, check } = await setup();
        const p = [policy(algorithm, 2, 100)];
        expect((await check(p)).allowed).toBe(true);
        expect((await check(p)).allowed).toBe(true);
        expect((await check(p)).allowed).toBe(false);
        clock.advance(200);
        expect((await check(p, 2)).allowed).toBe(true);
      });

      it('refunds to the charged window or bucket, never below zero', async () => {
        const { check, refund } = await setup();
        const p = [policy(algorithm, 3, 60_000)];
        const first = await check(p);
        await check(p);
        await refund(p, first);
        expect((await check(p)).decisions[0]!.remaining).toBe(1);
        // Refunding more than was charged leaves the quota whole, not above it.
        await refund(p, first, 10);
        expect((await check(p)).decisions[0]!.remaining).toBe(2);
      });

      it('keeps clients apart, whatever their key text', async () => {
        const { store } = await setup();
        const p = [policy(algorithm, 1, 60_000)];
        for (const clientKey of ['{a}', '{a}x', 'é', 'a\nb']) {
          expect((await store.check({ clientKey, cost: 1, policies: p })).allowed).toBe(true);
        }
        expect((await store.check({ clientKey: '{a}', cost: 1, policies: p })).allowed).toBe(false);
      });

      it('charges nothing when another policy of the check refuses (all or nothing)', async () => {
        const { check } = await setup();
        const wide = policy(algorithm, 10, 60_000, 'wide');
        const narrow = policy('fixed-window', 2, 60_000, 'narrow');
        expect((await check([wide, narrow])).allowed).toBe(true);
        expect((await check([wide, narrow])).allowed).toBe(true);
        for (let i = 0; i < 3; i++) {
          const refused = await check([wide, narrow]);
          expect(refused.allowed).toBe(false);
          expect(refused.decisions.map((d) => d.allowed)).toEqual([true, false]);
        }
        // Only the two allowed checks were charged to the wide policy.
        expect((await check([wide])).decisions[0]!.remaining).toBe(7);
      });

      it('resets a client on request', async () => {
        const { store, clientKey, check } = await setup();
        const p = [policy(algorithm, 1, 60_000)];
        await check(p);
        expect((await check(p)).allowed).toBe(false);
        await store.reset({ clientKey, policies: p });
        expect((await check(p)).allowed).toBe(true);
      });
    });

    it('fixed window: later hits never extend the window', async () => {
      const { clock, check } = await setup();
      const p = [policy('fixed-window', 3, 1000)];
      await check(p);
      clock.advance(600);
      const r = await check(p);
      expect(r.decisions[0]!.resetMs).toBe(400);
      clock.advance(400);
      expect((await check(p)).decisions[0]).toMatchObject({ remaining: 2, resetMs: 1000 });
    });

    it('fixed window: a refund never goes into the next window', async () => {
      const { clock, check, refund } = await setup();
      const p = [policy('fixed-window', 2, 1000)];
      const old = await check(p);
      clock.advance(1000);
      await check(p);
      await check(p);
      await refund(p, old);
      expect((await check(p)).allowed).toBe(false);
    });

    it('sliding window: weighs the previous window by its overlap', async () => {
      const { clock, check } = await setup();
      const p = [policy('sliding-window', 10, 1000)];
      for (let i = 0; i < 10; i++) await check(p);
      clock.advance(1000 + 300); // 70 % of the previous window still overlaps: 7 units
      const r = await check(p);
      expect(r.decisions[0]!.remaining).toBe(2);
      expect((await check(p, 3)).allowed).toBe(false);
      clock.advance(100); // 60 % overlap: 6 + 1 used
      expect((await check(p, 3)).allowed).toBe(true);
    });

    it('sliding window: a refund reaches the previous window, not the current one', async () => {
      const { clock, check, refund } = await setup();
      const p = [policy('sliding-window', 4, 1000)];
      const old = await check(p, 4);
      clock.advance(1000);
      await refund(p, old, 4);
      // The previous window is now empty: the whole quota is free at once.
      expect((await check(p, 4)).allowed).toBe(true);
    });

    it('sliding log: exact, counts every unit within the last window', async () => {
      const { clock, check } = await setup();
      const p = [policy('sliding-log', 3, 1000)];
      await check(p);
      clock.advance(400);
      await check(p);
      clock.advance(400);
      await check(p);
      clock.advance(199);
      expect((await check(p)).allowed).toBe(false);
      clock.advance(1); // the first unit (t=0) leaves the window at t=1000
      expect((await check(p)).allowed).toBe(true);
      expect((await check(p)).allowed).toBe(false);
    });

    describe.each(['token-bucket', 'gcra'] as const)('%s', (algorithm) => {
      it('refills a fractional rate exactly, without drift', async () => {
        const { clock, check } = await setup();
        const p = [policy(algorithm, 3, 1000)];
        for (let i = 0; i < 3; i++) expect((await check(p)).allowed).toBe(true);
        // 3 per 1000 ms: one unit every 333.33 ms. Over 30 s at exactly that rate, no drift.
        let allowed = 0;
        for (let step = 1; step <= 90; step++) {
          clock.set(
            1_700_000_000_000 - (1_700_000_000_000 % 3_600_000) + Math.ceil((step * 1000) / 3),
          );
          if ((await check(p)).allowed) allowed++;
        }
        expect(allowed).toBe(90);
        expect((await check(p)).allowed).toBe(false);
      });

      it('allows a burst larger than the rate, then the rate', async () => {
        const { clock, check } = await setup();
        const p = [policy(algorithm, 1, 1000, 'p', 5)];
        for (let i = 0; i < 5; i++) expect((await check(p)).allowed).toBe(true);
        const refused = await check(p);
        expect(refused.allowed).toBe(false);
        expect(refused.decisions[0]!.retryAfterMs).toBe(1000);
        expect(refused.decisions[0]!.resetMs).toBe(5000);
        clock.advance(1000);
        expect((await check(p)).allowed).toBe(true);
        expect((await check(p)).allowed).toBe(false);
      });
    });

    it('checks policies of different algorithms together', async () => {
      const { clock, check } = await setup();
      const ps = ALL.map((a, i) => policy(a, 5 + i, 1000, `p${i}`));
      for (let i = 0; i < 5; i++) expect((await check(ps)).allowed).toBe(true);
      const refused = await check(ps);
      // Limits 5..9: only the first is spent, so only it refuses, and nobody is charged.
      expect(refused.decisions.map((d) => d.allowed)).toEqual([false, true, true, true, true]);
      expect(refused.decisions.map((d) => d.remaining)).toEqual([0, 1, 2, 3, 4]);
      clock.advance(2000);
      expect((await check(ps)).decisions.map((d) => d.remaining)).toEqual([4, 5, 6, 7, 8]);
    });

    describeKeyConformance(makeStore);
  });
}

/** A Redis deployment under test: the client Keel gets, and ioredis on the same data. */
export interface RedisRateLimitBackend {
  client: Parameters<typeof createRedisStore>[0]['client'];
  raw: Redis | Cluster;
}

/**
 * The suite on one Redis deployment: the tests' clock, and a deadline a loaded machine cannot
 * miss (a missed one would send a check to no fallback and fail the case, not the store).
 */
export function describeRedisRateLimitConformance(
  name: string,
  backend: () => RedisRateLimitBackend,
): void {
  describeRateLimitConformance(name, (clock) => {
    const { client, raw } = backend();
    const prefix = testPrefix();
    return {
      store: createRedisStore({ client, prefix, clockForTests: clock, deadlineMs: 2000 }),
      cleanup: () => cleanupPrefix(raw, prefix),
    };
  });
}
