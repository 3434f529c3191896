import { createEvents, createManualClock, type KeelEvent } from '@keel/core';
import { describe, expect, it } from 'vitest';
import {
  createLock,
  createMemoryLockStore,
  LockLostError,
  LockUnavailableError,
  ScriptStatus,
} from '../../src/index.js';

describe('memory lock store (manual clock)', () => {
  it('returns the same statuses as the Lua scripts', async () => {
    const clock = createManualClock();
    const store = createMemoryLockStore({ clock });
    // Tokens are floored at the clock in microseconds, as the Lua script floors at TIME.
    const t0 = clock() * 1000;
    expect(await store.acquire('r', 'a', 1000)).toEqual({
      status: ScriptStatus.OK,
      fence: t0,
      ttlMs: 1000,
    });
    clock.advance(400);
    expect(await store.acquire('r', 'b', 1000)).toEqual({
      status: ScriptStatus.BUSY,
      fence: 0,
      ttlMs: 600,
    });
    // The same token again (a retried request): same fence, TTL set again from now.
    expect(await store.acquire('r', 'a', 1000)).toEqual({
      status: ScriptStatus.ALREADY_OURS,
      fence: t0,
      ttlMs: 1000,
    });
    clock.advance(900);
    expect(await store.extend('r', 'a', 1000)).toBe(ScriptStatus.OK);
    expect(await store.extend('r', 'b', 1000)).toBe(ScriptStatus.OTHER_OWNER);
    expect(await store.release('r', 'b')).toBe(ScriptStatus.OTHER_OWNER);
    clock.advance(1000);
    expect(await store.extend('r', 'a', 1000)).toBe(ScriptStatus.ABSENT);
    expect(await store.release('r', 'a')).toBe(ScriptStatus.ABSENT);
    expect(await store.acquire('r', 'b', 1000)).toMatchObject({
      status: ScriptStatus.OK,
      fence: t0 + 2_300_000, // 2.3 s later
    });
    expect(await store.release('r', 'b')).toBe(ScriptStatus.OK);
    expect(store.size).toBe(0);
  });

  it('fencing tokens increase per resource and across them; raiseFence never lowers', async () => {
    const clock = createManualClock();
    const store = createMemoryLockStore({ clock });
    const t0 = clock() * 1000;
    // Within the same 100 ms of the clock, the counter decides.
    expect((await store.acquire('x', 't1', 10)).fence).toBe(t0);
    expect((await store.acquire('y', 't2', 10)).fence).toBe(t0 + 1);
    expect(await store.raiseFence('x', t0 + 10)).toBe(t0 + 10);
    expect(await store.raiseFence('x', t0 + 5)).toBe(t0 + 10);
    await store.release('x', 't1');
    expect((await store.acquire('x', 't3', 10)).fence).toBe(t0 + 11);
    clock.advance(99);
    expect((await store.acquire('z', 't4', 10)).fence).toBe(t0 + 12);
    clock.advance(1);
    expect((await store.acquire('w', 't5', 10)).fence).toBe(t0 + 100_000);
  });

  it('a store that lost its counter (a restarted process) still issues larger tokens', async () => {
    const clock = createManualClock();
    const before = createMemoryLockStore({ clock });
    const first = (await before.acquire('r', 'a', 60_000)).fence;
    clock.advance(5); // the process restarts: a new, empty store on the same clock
    const after = createMemoryLockStore({ clock });
    expect((await after.acquire('r', 'b', 60_000)).fence).toBeGreaterThan(first);
  });

  it('defaults to an epoch clock, so its tokens are the time in microseconds', async () => {
    const before = Date.now();
    const { fence } = await createMemoryLockStore().acquire('r', 'a', 1000);
    expect(fence).toBeGreaterThanOrEqual((before - 1_000) * 1000);
    expect(fence).toBeLessThanOrEqual((Date.now() + 1_000) * 1000);
  });

  it('is bounded: a full table refuses new locks instead of evicting live ones', async () => {
    const clock = createManualClock();
    const locks = createLock({ memory: createMemoryLockStore({ clock, maxLocks: 2 }), clock });
    const a = await locks.acquire('a', { ttlMs: 1000 });
    await locks.acquire('b', { ttlMs: 1000 });
    const full = await locks.tryAcquire('c').catch((e: unknown) => e);
    expect(full).toBeInstanceOf(LockUnavailableError);
    expect((full as Error).message).toContain('memory lock table is full');
    expect(a.isHeld()).toBe(true);
    clock.advance(1000); // both expire: room again
    expect(await locks.tryAcquire('c')).toBeDefined();
  });
});

describe('lock validity on an injected clock', () => {
  it('runs out when the clock passes ttl − drift, and the signal aborts at the first look', async () => {
    const clock = createManualClock();
    const seen: KeelEvent[] = [];
    const locks = createLock({ clock, events: createEvents((e) => seen.push(e)) });
    const lock = await locks.acquire('r', { ttlMs: 1000 });
    // drift = 1000 × 0.01 + 2 = 12 ms
    expect(lock.remainingMs()).toBe(988);
    clock.advance(987);
    expect(lock.isHeld()).toBe(true);
    clock.advance(1);
    // No timer has run (none could: the clock moved by hand), yet the lock knows.
    expect(lock.signal.aborted).toBe(true);
    expect(lock.signal.reason).toBeInstanceOf(LockLostError);
    expect(lock.isHeld()).toBe(false);
    expect(lock.remainingMs()).toBe(0);
    expect(seen.map((e) => e.name)).toEqual(['lock.acquired', 'lock.lost']);
    expect(seen[1]!.attributes).toEqual({
      resource: 'r',
      fencingToken: lock.fencingToken,
      reason: 'expired',
    });
    // The store still holds it for 12 ms more: a release then frees it early.
    expect(await lock.release()).toBe(true);
  });

  it('an extend answered after the deadline does not revive the lock', async () => {
    const clock = createManualClock();
    const store = createMemoryLockStore({ clock });
    const locks = createLock({ memory: store, clock, driftFactor: 0 });
    const lock = await locks.acquire('r', { ttlMs: 100 });
    const extend = lock.extend(1000);
    clock.advance(150); // the reply "arrives" after the old deadline
    await expect(extend).rejects.toBeInstanceOf(LockLostError);
    expect(lock.isHeld()).toBe(false);
  });
});
