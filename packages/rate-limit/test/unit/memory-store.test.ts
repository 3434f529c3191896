import { createManualClock, type KeelEvent } from '@keel/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { COUNTER_BYTES, createMemoryStore, type StorePolicy } from '../../src/index.js';
import { soonestToExpire } from '../../src/stores/evict.js';

const policy = (windowMs: number, algorithm: StorePolicy['algorithm'] = 'fixed-window') => ({
  keyParts: ['t', String(windowMs), algorithm],
  algorithm,
  limit: 100,
  windowMs,
  burst: 100,
});

describe('soonestToExpire', () => {
  it('picks the `count` smallest expiries, soonest first', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 1000 })), fc.nat(20), (expiries, count) => {
        const picked = soonestToExpire(
          expiries.map((e, i) => [i, e] as const),
          count,
        );
        const expected = [...expiries].sort((a, b) => a - b).slice(0, count);
        expect(picked.map((i) => expiries[i])).toEqual(expected);
      }),
    );
  });
});

describe('createMemoryStore bounds', () => {
  it('validates maxBytes and says what to change', () => {
    expect(() => createMemoryStore({ maxBytes: 1000 })).toThrow(/maxBytes.*at least 65536/);
    expect(() => createMemoryStore({ maxEntries: 0 })).toThrow(/maxEntries/);
  });

  it('bounds sliding logs in bytes: the longest-lived survive, the store stays within maxBytes', async () => {
    const clock = createManualClock(1_000_000);
    const seen: KeelEvent[] = [];
    const maxBytes = 64 * 1024;
    const store = createMemoryStore({
      maxBytes,
      clock,
      events: (e) => seen.push(e),
      warnings: false,
    });
    const log = policy(60_000, 'sliding-log');
    // Each client spends 100 units: ~1 KB of log each, so about 60 fit.
    for (let i = 0; i < 200; i++) {
      clock.advance(10);
      const result = await store.check({ clientKey: `c${i}`, cost: 100, policies: [log] });
      expect(result.allowed).toBe(true);
      expect(store.bytes).toBeLessThanOrEqual(maxBytes);
    }
    expect(store.size).toBeGreaterThan(40);
    expect(store.size).toBeLessThan(70);
    expect(store.bytes / store.size).toBeGreaterThan(COUNTER_BYTES + 800);
    // The newest clients are still counted (their logs are full), the oldest were evicted.
    expect((await store.check({ clientKey: 'c199', cost: 1, policies: [log] })).allowed).toBe(
      false,
    );
    expect((await store.check({ clientKey: 'c0', cost: 1, policies: [log] })).allowed).toBe(true);
    expect(seen.every((e) => e.name === 'rate-limit.evicted')).toBe(true);
  });

  it('a refund keeps the byte count true', async () => {
    const clock = createManualClock(1_000_000);
    const store = createMemoryStore({ clock });
    const log = policy(60_000, 'sliding-log');
    const check = { clientKey: 'a', cost: 10, policies: [log] };
    const result = await store.check(check);
    const before = store.bytes;
    await store.refund({ ...check, cost: 4, receipts: result.decisions.map((d) => d.receipt) });
    expect(before - store.bytes).toBe(4 * 8);
  });
});
