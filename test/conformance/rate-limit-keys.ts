/**
 * The key API's conformance cases (issue 21), run by `describeRateLimitConformance` on every
 * backend: peeks, penalties and rewards, blocks (by `block()` and by a policy's
 * `blockDurationMs`) at the store, then `consume` / `peek` / `penalize` / `reward` / `block` /
 * `reset` through `createRateLimiter` — with its deny cache, as an application has it. Time is
 * a manual clock, so blocks end without sleeping.
 */
import { randomUUID } from 'node:crypto';
import { createManualClock, type ManualClock } from '@keel/core';
import {
  type AlgorithmName,
  createRateLimiter,
  RETRY_NEVER,
  type StorePolicy,
} from '@keel/rate-limit';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConformanceStore } from './rate-limit.js';

const ALL: AlgorithmName[] = [
  'fixed-window',
  'sliding-log',
  'sliding-window',
  'token-bucket',
  'gcra',
];

const START = 1_700_000_000_000 - (1_700_000_000_000 % 3_600_000);

export function describeKeyConformance(
  makeStore: (clock: ManualClock) => Promise<ConformanceStore> | ConformanceStore,
): void {
  describe('key API', () => {
    let cleanup: (() => Promise<unknown>) | undefined;
    afterEach(async () => {
      await cleanup?.();
      cleanup = undefined;
    });

    async function setup() {
      const clock = createManualClock(START);
      const made = await makeStore(clock);
      cleanup = made.cleanup;
      return { clock, store: made.store, clientKey: `client-${randomUUID()}` };
    }

    const policy = (
      algorithm: AlgorithmName,
      limit: number,
      windowMs: number,
      extra: Partial<StorePolicy> = {},
    ): StorePolicy => ({
      keyParts: ['keys', extra.keyParts?.[0] ?? 'p', algorithm],
      algorithm,
      limit,
      windowMs,
      burst: limit,
      ...extra,
    });

    describe.each(ALL)('%s', (algorithm) => {
      it('a peek decides as a check would and charges nothing; cost 0 reads the state', async () => {
        const { store, clientKey } = await setup();
        const p = [policy(algorithm, 3, 60_000)];
        await store.check({ clientKey, cost: 2, policies: p });
        const peek = (cost: number) => store.check({ clientKey, cost, policies: p, dryRun: true });
        expect(await peek(1)).toMatchObject({ allowed: true, decisions: [{ remaining: 0 }] });
        expect(await peek(1)).toMatchObject({ allowed: true, decisions: [{ remaining: 0 }] });
        expect((await peek(2)).allowed).toBe(false);
        expect((await peek(0)).decisions[0]!.remaining).toBe(1);
        expect((await store.check({ clientKey, cost: 1, policies: p })).allowed).toBe(true);
      });

      it('a penalty charges past the limit; a reward gives units back', async () => {
        const { store, clientKey } = await setup();
        const p = [policy(algorithm, 3, 60_000)];
        await store.adjust!({ clientKey, units: 3, policies: p });
        const refused = await store.check({ clientKey, cost: 1, policies: p });
        expect(refused.allowed).toBe(false);
        expect(refused.decisions[0]!.retryAfterMs).toBeGreaterThan(0);
        await store.adjust!({ clientKey, units: -2, policies: p });
        const after = await store.check({ clientKey, cost: 1, policies: p });
        expect(after).toMatchObject({ allowed: true, decisions: [{ remaining: 1 }] });
        // A reward never lifts the quota above its size.
        await store.adjust!({ clientKey, units: -50, policies: p });
        expect((await store.check({ clientKey, cost: 3, policies: p })).allowed).toBe(true);
      });

      it('blockDurationMs: the refusal blocks the key for that long, then it is whole', async () => {
        const { clock, store, clientKey } = await setup();
        const p = [policy(algorithm, 2, 1000, { blockDurationMs: 10_000 })];
        const check = (cost = 1) => store.check({ clientKey, cost, policies: p });
        expect((await check(2)).allowed).toBe(true);
        expect((await check()).decisions[0]).toMatchObject({
          allowed: false,
          remaining: 0,
          retryAfterMs: 10_000,
          resetMs: 10_000,
          blocked: 'started',
        });
        clock.advance(5000);
        // The window has long passed; the block has not, and requests do not extend it.
        expect((await check()).decisions[0]).toMatchObject({
          retryAfterMs: 5000,
          blocked: 'ongoing',
        });
        clock.advance(4999);
        expect((await check()).decisions[0]!.blocked).toBe('ongoing');
        clock.advance(1);
        expect((await check(2)).allowed).toBe(true);
      });

      it('a cost above the capacity never starts a block', async () => {
        const { store, clientKey } = await setup();
        const p = [policy(algorithm, 2, 1000, { blockDurationMs: 10_000 })];
        const refused = await store.check({ clientKey, cost: 3, policies: p });
        expect(refused.decisions[0]).toMatchObject({ retryAfterMs: RETRY_NEVER });
        expect(refused.decisions[0]!.blocked).toBeUndefined();
        expect((await store.check({ clientKey, cost: 2, policies: p })).allowed).toBe(true);
      });

      it('block() refuses whatever the counters say; penalties, refunds and peeks leave it; reset lifts it', async () => {
        const { clock, store, clientKey } = await setup();
        const p = [policy(algorithm, 5, 1000)];
        const charged = await store.check({ clientKey, cost: 1, policies: p });
        await store.block!({ clientKey, policies: p, durationMs: 3000 });
        const refused = await store.check({ clientKey, cost: 1, policies: p });
        expect(refused.decisions[0]).toMatchObject({ blocked: 'ongoing', retryAfterMs: 3000 });
        const receipts = charged.decisions.map((d) => d.receipt);
        await store.refund({ clientKey, cost: 1, policies: p, receipts });
        await store.adjust!({ clientKey, units: 4, policies: p });
        await store.adjust!({ clientKey, units: -4, policies: p });
        for (const cost of [0, 1, 6]) {
          const peek = await store.check({ clientKey, cost, policies: p, dryRun: true });
          expect(peek.decisions[0]).toMatchObject({
            allowed: false,
            blocked: 'ongoing',
            remaining: 0,
            resetMs: 3000,
            retryAfterMs: cost > 5 ? RETRY_NEVER : 3000,
          });
        }
        clock.advance(3000);
        expect((await store.check({ clientKey, cost: 5, policies: p })).allowed).toBe(true);
        await store.block!({ clientKey, policies: p, durationMs: 60_000 });
        await store.reset({ clientKey, policies: p });
        expect((await store.check({ clientKey, cost: 1, policies: p })).allowed).toBe(true);
      });
    });

    it('a block started by one policy charges nothing elsewhere (all or nothing)', async () => {
      const { clock, store, clientKey } = await setup();
      const wide = policy('sliding-window', 10, 60_000, { keyParts: ['wide'] });
      const narrow = policy('fixed-window', 2, 1000, {
        keyParts: ['narrow'],
        blockDurationMs: 5000,
      });
      const check = () => store.check({ clientKey, cost: 1, policies: [wide, narrow] });
      await check();
      await check();
      const refused = await check();
      expect(refused.decisions.map((d) => [d.allowed, d.blocked])).toEqual([
        [true, undefined],
        [false, 'started'],
      ]);
      clock.advance(5000);
      expect((await check()).decisions[0]!.remaining).toBe(7);
    });

    describe.each(['fixed-window', 'gcra'] as const)('createRateLimiter, %s', (algorithm) => {
      async function limiter(blockDurationMs?: number) {
        const { clock, store } = await setup();
        const name = `keys-${randomUUID().slice(0, 8)}`;
        const policies = [
          {
            algorithm,
            limit: 3,
            windowMs: 60_000,
            ...(blockDurationMs ? { blockDurationMs } : {}),
          },
        ];
        return { clock, limiter: createRateLimiter({ name, store, clock, policies }) };
      }

      it('consume, peek, penalize, reward, reset by key', async () => {
        const { limiter: l } = await limiter();
        const first = await l.consume('user-1', { cost: 2 });
        expect(first).toMatchObject({ allowed: true, reason: 'allowed', key: 'user-1', cost: 2 });
        expect(first.policies[0]).toMatchObject({ remaining: 1, violated: false });
        expect(await l.peek('user-1', { cost: 0 })).toMatchObject({
          allowed: true,
          policies: [{ remaining: 1 }],
        });
        expect(await first.refund()).toBe(true);
        expect((await l.consume('user-1')).policies[0]!.remaining).toBe(2);
        await l.penalize('user-1', 5);
        const refused = await l.consume('user-1');
        expect(refused).toMatchObject({ allowed: false, reason: 'limited', violated: [l.name] });
        expect(refused.retryAfterMs).toBeGreaterThan(0);
        expect(await refused.refund()).toBe(false);
        await l.reward('user-1', 5);
        expect((await l.consume('user-1')).allowed).toBe(true);
        await l.reset('user-1');
        expect((await l.consume('user-1', { cost: 3 })).allowed).toBe(true);
        expect((await l.consume('user-2', { cost: 4 })).reason).toBe('cost-exceeds-limit');
      });

      it('blocks by policy and by block(), reported as "blocked"', async () => {
        const { clock, limiter: l } = await limiter(900_000);
        for (let i = 0; i < 3; i++) expect((await l.consume('alice')).allowed).toBe(true);
        const locked = await l.consume('alice');
        expect(locked).toMatchObject({ allowed: false, reason: 'blocked', retryAfterMs: 900_000 });
        expect(locked.policies[0]!.blocked).toBe('started');
        clock.advance(60_000);
        expect(await l.consume('alice')).toMatchObject({
          reason: 'blocked',
          retryAfterMs: 840_000,
        });
        await l.reset('alice');
        expect((await l.consume('alice')).allowed).toBe(true);
        await l.block('bob', 30_000);
        expect(await l.peek('bob')).toMatchObject({ allowed: false, reason: 'blocked' });
        clock.advance(30_000);
        expect((await l.consume('bob', { cost: 3 })).allowed).toBe(true);
      });
    });
  });
}
