/**
 * The function API's conformance cases (issue 21), run by `describeIdempotencyConformance` on
 * every backend: `run(key, fn)`, `wrap`, `makeIdempotent` over the same store — once per key,
 * stored results, concurrent duplicates, fingerprints, failures, a crashed worker's claim taken
 * over and its late completion fenced. Leases move with the manual clock; only `waitMs` waits
 * in real time (a few tens of ms).
 */
import { randomUUID } from 'node:crypto';
import { createEvents, createManualClock, type KeelEvent, type ManualClock } from '@keel/core';
import {
  codes,
  createIdempotentRunner,
  type IdempotentRunnerOptions,
  makeIdempotent,
} from '@keel/idempotency';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConformanceStore } from './idempotency.js';

type Deferred = { promise: Promise<void>; resolve: () => void };
function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

export function describeCallConformance(
  makeStore: (clock: ManualClock) => Promise<ConformanceStore> | ConformanceStore,
): void {
  describe('function API: run(key, fn), wrap, makeIdempotent', () => {
    let cleanup: (() => Promise<unknown>) | undefined;
    afterEach(async () => {
      await cleanup?.();
      cleanup = undefined;
    });

    async function setup(options: Partial<IdempotentRunnerOptions> = {}) {
      const time = createManualClock();
      const made = await makeStore(time);
      cleanup = made.cleanup;
      const seen: KeelEvent[] = [];
      const events = createEvents((e) => seen.push(e));
      const make = (extra: Partial<IdempotentRunnerOptions> = {}) =>
        createIdempotentRunner({
          name: 'charge',
          store: made.store,
          renewEveryMs: 0,
          events,
          ...options,
          ...extra,
        });
      const key = `job-${randomUUID()}`;
      return { time, runner: make(), make, seen, key, store: made.store };
    }

    it('runs once per key and returns the stored result to later calls', async () => {
      const { runner, key } = await setup();
      let runs = 0;
      const charge = async () => ({ charged: ++runs, at: '2026-01-01' });
      expect(await runner.run(key, charge)).toEqual({ charged: 1, at: '2026-01-01' });
      expect(await runner.run(key, charge)).toEqual({ charged: 1, at: '2026-01-01' });
      expect(runs).toBe(1);
      // A function returning nothing is remembered as done, too.
      let sent = 0;
      const send = async () => {
        sent++;
      };
      expect(await runner.run(`${key}-mail`, send)).toBeUndefined();
      expect(await runner.run(`${key}-mail`, send)).toBeUndefined();
      expect(sent).toBe(1);
    });

    it('keeps operations apart: the same key under two names runs both', async () => {
      const { make, key } = await setup();
      expect(await make({ name: 'charge' }).run(key, () => 'charged')).toBe('charged');
      expect(await make({ name: 'email' }).run(key, () => 'emailed')).toBe('emailed');
    });

    it('a concurrent duplicate gets a coded in-flight error, or waits for the result with waitMs', async () => {
      const { runner, make, key } = await setup();
      const gate = deferred();
      const first = runner.run(key, async () => {
        await gate.promise;
        return 42;
      });
      const error = await runner.run(key, () => 0).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: codes.REQUEST_IN_FLIGHT });
      const waiting = make({ waitMs: 5000 }).run(key, () => 0);
      setTimeout(gate.resolve, 30);
      expect(await first).toBe(42);
      expect(await waiting).toBe(42);
    });

    it('a different fingerprint gets a coded reuse error', async () => {
      const { runner, key } = await setup();
      await runner.run(key, () => 'ok', { fingerprint: { amount: 100, currency: 'EUR' } });
      // Canonical JSON: the same content in another order is the same fingerprint.
      expect(
        await runner.run(key, () => 'again', { fingerprint: { currency: 'EUR', amount: 100 } }),
      ).toBe('ok');
      const error = await runner
        .run(key, () => 'again', { fingerprint: { amount: 200, currency: 'EUR' } })
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ code: codes.KEY_REUSED });
    });

    it('a call that throws gives the key up, so a retry runs', async () => {
      const { runner, key } = await setup();
      await expect(
        runner.run(key, () => {
          throw new Error('card declined');
        }),
      ).rejects.toThrow('card declined');
      expect(await runner.run(key, () => 'second try')).toBe('second try');
    });

    it("a crashed worker's claim is taken over after its lease, and its late completion fenced", async () => {
      const { time, make, seen, key } = await setup({ leaseMs: 10_000 });
      const crashed = make();
      const gate = deferred();
      const late = crashed.run(key, async () => {
        await gate.promise;
        return 'from the stuck worker';
      });
      await new Promise((r) => setTimeout(r, 10));
      time.advance(10_001);
      expect(await make().run(key, () => 'from the retry')).toBe('from the retry');
      expect(seen.some((e) => e.name === 'idempotency.taken-over')).toBe(true);
      gate.resolve();
      expect(await late).toBe('from the stuck worker');
      expect(seen.find((e) => e.name === 'idempotency.fenced')?.attributes).toMatchObject({
        operation: 'complete',
        reason: 'completed',
      });
      expect(await make().run(key, () => 'third')).toBe('from the retry');
    });

    it('a result above maxResultBytes runs once and is not kept: later calls get a coded error', async () => {
      const { runner, key } = await setup({ maxResultBytes: 16 });
      expect(await runner.run(key, () => 'x'.repeat(100))).toHaveLength(100);
      const error = await runner.run(key, () => 'again').catch((e: unknown) => e);
      expect(error).toMatchObject({ code: codes.RESPONSE_NOT_STORED });
    });

    it('wrap and makeIdempotent take the key and fingerprint from the arguments; codec option', async () => {
      const { runner, store, key } = await setup();
      let charged = 0;
      const charge = async (order: { id: string; cents: number }) => {
        charged += order.cents;
        return new Date(Date.UTC(2026, 0, charged));
      };
      const wrapped = runner.wrap(charge, { key: (o) => o.id, fingerprint: (o) => o });
      expect(await wrapped({ id: key, cents: 5 })).toEqual(new Date(Date.UTC(2026, 0, 5)));
      // JSON: a stored Date comes back as its string.
      expect(await wrapped({ id: key, cents: 5 })).toBe('2026-01-05T00:00:00.000Z');
      const dates = {
        encode: (d: unknown) => String((d as Date).getTime()),
        decode: (b: Uint8Array) => new Date(Number(Buffer.from(b).toString())),
      };
      const once = makeIdempotent(charge, {
        name: 'charge-dates',
        store,
        key: (o) => o.id,
        codec: dates,
      });
      const first = await once({ id: key, cents: 1 });
      expect(await once({ id: key, cents: 1 })).toEqual(first);
      expect(charged).toBe(6);
    });
  });
}
