/**
 * The lock's conformance suite: the same cases, unchanged, against the memory store, a
 * standalone Redis, the 3-master Cluster and a 3-node Redlock quorum. Timing-based cases use
 * real time with short TTLs, because a Redis TTL only runs out in real time.
 */
import {
  type CreateLockOptions,
  createLock,
  LockBusyError,
  LockLostError,
  type LockManager,
} from '@keel/lock';
import type { Cluster, Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cleanupPrefix, testPrefix } from '../support/index.js';

/** `createLock` options a case may set; the backend, prefix and events are the target's. */
export type LockCaseOptions = Omit<CreateLockOptions, 'client' | 'clients' | 'memory' | 'prefix'>;

/** One backend under test, fresh for each case (its own key prefix or memory store). */
export interface LockTarget {
  /** A lock manager over this case's store; managers of one case contend for the same locks. */
  create(options?: LockCaseOptions): LockManager;
  /** A shared number kept beside the locks, read and written in two separate steps. */
  readCounter(): Promise<number>;
  writeCounter(value: number): Promise<void>;
  /** Removes what the case left behind. */
  cleanup(): Promise<void>;
}

/**
 * Slack between this process's clock and the store's when comparing a fencing token with the
 * time: every target runs on this machine, so its clocks agree far better than this.
 */
const CLOCK_SLACK_MS = 1_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Blocks the event loop: no timer, no I/O callback runs meanwhile. */
function blockEventLoop(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // spin
  }
}

export function describeLockConformance(
  name: string,
  setup: () => LockTarget | Promise<LockTarget>,
): void {
  describe(`lock conformance: ${name}`, () => {
    let t: LockTarget;
    beforeEach(async () => {
      t = await setup();
    });
    afterEach(async () => {
      await t.cleanup();
    });

    it('acquires with a fencing token and validity, releases once', async () => {
      const locks = t.create();
      const before = Date.now();
      const lock = await locks.acquire('job:report', { ttlMs: 10_000 });
      expect(lock.resource).toBe('job:report');
      expect(lock.token).toMatch(/^[A-Za-z0-9_-]{22}$/);
      expect(Number.isSafeInteger(lock.fencingToken) && lock.fencingToken > 0).toBe(true);
      // Floored at the store's clock in microseconds, so a lost counter restarts above it.
      expect(lock.fencingToken).toBeGreaterThanOrEqual((before - CLOCK_SLACK_MS) * 1000);
      expect(lock.fencingToken).toBeLessThanOrEqual((Date.now() + CLOCK_SLACK_MS) * 1000);
      expect(JSON.parse(JSON.stringify({ f: lock.fencingToken })).f).toBe(lock.fencingToken);
      expect(lock.isHeld()).toBe(true);
      expect(lock.signal.aborted).toBe(false);
      expect(lock.remainingMs()).toBeLessThanOrEqual(10_000);
      expect(lock.remainingMs()).toBeGreaterThan(9_000);
      expect(lock.validUntil).toBeGreaterThan(before + 9_000);
      expect(lock.validUntil).toBeLessThanOrEqual(Date.now() + 10_000);
      expect(await lock.release()).toBe(true);
      expect(await lock.release()).toBe(false);
      expect(lock.isHeld()).toBe(false);
      expect(lock.signal.aborted).toBe(false);
      const again = await locks.acquire('job:report');
      expect(again.fencingToken).toBeGreaterThan(lock.fencingToken);
      await again.release();
    });

    it('is busy for every other owner: acquire rejects with LockBusyError, tryAcquire gives undefined', async () => {
      const a = t.create();
      const b = t.create();
      const held = await a.acquire('busy', { ttlMs: 5_000 });
      const error = await b
        .acquire('busy', { retry: { attempts: 3, delayMs: 1, jitterMs: 1 } })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LockBusyError);
      expect((error as LockBusyError).code).toBe('KEEL_ERR_LOCK_BUSY');
      expect((error as LockBusyError).attempts).toBe(3);
      expect((error as LockBusyError).retryAfterMs).toBeGreaterThan(4_000);
      expect((error as LockBusyError).retryAfterMs).toBeLessThanOrEqual(5_000);
      expect(await b.tryAcquire('busy')).toBeUndefined();
      // Another resource is independent.
      const other = await b.tryAcquire('not-busy');
      expect(other?.isHeld()).toBe(true);
      await other?.release();
      await held.release();
      const now = await b.tryAcquire('busy');
      expect(now?.fencingToken).toBeGreaterThan(held.fencingToken);
      await now?.release();
    });

    it('treats resource names as opaque text, braces included', async () => {
      const locks = t.create();
      const a = await locks.acquire('{tenant}:x');
      const b = await locks.acquire('{tenant}:y');
      expect(await locks.tryAcquire('{tenant}:x')).toBeUndefined();
      await Promise.all([a.release(), b.release()]);
    });

    it('expiry race: a holder that pauses past its TTL cannot release or extend the next owner’s lock', async () => {
      const a = await t.create().acquire('race', { ttlMs: 100 });
      let aborted: unknown;
      a.signal.addEventListener('abort', () => {
        aborted = a.signal.reason;
      });
      await sleep(160); // A is slow: its TTL passes
      const b = await t
        .create()
        .acquire('race', { ttlMs: 5_000, retry: { attempts: 5, delayMs: 20 } });
      expect(aborted).toBeInstanceOf(LockLostError);
      expect((aborted as LockLostError).reason).toBe('expired');
      expect(a.isHeld()).toBe(false);
      expect(await a.release()).toBe(false);
      const late = await a.extend(5_000).catch((e: unknown) => e);
      expect(late).toBeInstanceOf(LockLostError);
      expect(b.isHeld()).toBe(true);
      expect(b.fencingToken).toBeGreaterThan(a.fencingToken);
      expect(await t.create().tryAcquire('race')).toBeUndefined();
      expect(await b.release()).toBe(true);
    });

    it('an extend that finds the lock gone loses it and aborts the signal', async () => {
      const locks = t.create({ driftFactor: 0 });
      const a = await locks.acquire('gone', { ttlMs: 60 });
      await sleep(90);
      const b = await locks.acquire('gone', { ttlMs: 5_000 });
      const error = await a.extend().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LockLostError);
      expect(a.signal.aborted).toBe(true);
      await b.release();
    });

    it('extend moves the validity forward', async () => {
      const lock = await t.create().acquire('extend', { ttlMs: 1_000 });
      const before = lock.validUntil;
      await lock.extend(20_000);
      expect(lock.validUntil).toBeGreaterThan(before + 15_000);
      expect(lock.remainingMs()).toBeGreaterThan(15_000);
      expect(await t.create().tryAcquire('extend')).toBeUndefined();
      await lock.release();
      await expect(lock.extend()).rejects.toMatchObject({ reason: 'released' });
    });

    it('fencing tokens strictly increase across owners', async () => {
      const tokens: number[] = [];
      for (let i = 0; i < 6; i++) {
        const lock = await t.create().acquire('fenced');
        tokens.push(lock.fencingToken);
        if (i % 2 === 0) await lock.release();
        else await lock.extend(10).then(() => sleep(30)); // or let it lapse
      }
      for (let i = 1; i < tokens.length; i++) expect(tokens[i]).toBeGreaterThan(tokens[i - 1]!);
    });

    it('the lost signal fires on its own when validity runs out', async () => {
      const lock = await t.create().acquire('timer', { ttlMs: 80 });
      const reason = await new Promise((resolve) => {
        lock.signal.addEventListener('abort', () => resolve(lock.signal.reason));
      });
      expect(reason).toBeInstanceOf(LockLostError);
      expect(lock.remainingMs()).toBe(0);
    });

    it('withLock renews while fn runs, passes the lock, and releases after', async () => {
      const locks = t.create();
      const seen: { held: boolean; aborted: boolean; fence: number }[] = [];
      const result = await locks.withLock(
        'renewed',
        async (lock) => {
          const { signal, fencingToken } = lock;
          for (let i = 0; i < 5; i++) {
            await sleep(200); // 1 s in all, the TTL is 0.6 s
            seen.push({ held: lock.isHeld(), aborted: signal.aborted, fence: fencingToken });
          }
          expect(await t.create().tryAcquire('renewed')).toBeUndefined();
          return 'done';
        },
        { ttlMs: 600 },
      );
      expect(result).toBe('done');
      expect(seen.every((s) => s.held && !s.aborted)).toBe(true);
      const after = await t.create().tryAcquire('renewed');
      expect(after).toBeDefined();
      expect(after!.fencingToken).toBeGreaterThan(seen[0]!.fence);
      await after!.release();
    });

    it('withLock releases when fn throws and rejects with fn’s error', async () => {
      const locks = t.create();
      const boom = new Error('boom');
      await expect(
        locks.withLock('throws', () => {
          throw boom;
        }),
      ).rejects.toBe(boom);
      const lock = await locks.tryAcquire('throws');
      expect(lock).toBeDefined();
      await lock!.release();
    });

    it('withLock rejects clearly when the lock cannot be taken, and fn never runs', async () => {
      const held = await t.create().acquire('taken');
      let ran = false;
      const error = await t
        .create()
        .withLock(
          'taken',
          () => {
            ran = true;
          },
          { retry: { attempts: 2, delayMs: 1, jitterMs: 0 } },
        )
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LockBusyError);
      expect(ran).toBe(false);
      await held.release();
    });

    it('a blocked event loop: validity runs out with no timer run, the signal fires at the first look, withLock rejects', async () => {
      const locks = t.create();
      let inside: { held: boolean; aborted: boolean } | undefined;
      const error = await locks
        .withLock(
          'blocked',
          async (lock) => {
            blockEventLoop(260); // the watchdog (every ~50 ms) cannot run
            inside = { held: lock.isHeld(), aborted: lock.signal.aborted };
            return 'side effect done';
          },
          { ttlMs: 150 },
        )
        .catch((e: unknown) => e);
      expect(inside).toEqual({ held: false, aborted: true });
      expect(error).toBeInstanceOf(LockLostError);
      expect((error as LockLostError).reason).toBe('expired');
      // Released (or expired) afterwards: free for the next owner.
      const next = await t.create().acquire('blocked', { retry: { attempts: 5, delayMs: 20 } });
      await next.release();
    });

    it('an aborted acquire rejects with the signal’s reason and leaves nothing held', async () => {
      const held = await t.create().acquire('abort', { ttlMs: 5_000 });
      const controller = new AbortController();
      const waiting = t
        .create()
        .acquire('abort', { signal: controller.signal, retry: { attempts: 1000, delayMs: 10 } });
      setTimeout(() => controller.abort(new Error('gave up')), 30);
      await expect(waiting).rejects.toThrow('gave up');
      await held.release();
      const next = await t.create().tryAcquire('abort');
      expect(next).toBeDefined();
      await next!.release();
    });

    it('mutual exclusion: 50 contenders incrementing through the lock lose no increment', async () => {
      const managers = Array.from({ length: 5 }, () =>
        t.create({ retry: { attempts: 1_000, delayMs: 2, jitterMs: 8 } }),
      );
      const increment = async () => {
        const value = await t.readCounter();
        await t.writeCounter(value + 1);
      };
      await Promise.all(
        Array.from({ length: 50 }, (_, i) => managers[i % 5]!.withLock('counter', increment)),
      );
      expect(await t.readCounter()).toBe(50);
    });

    it('(control) the same 50 increments without the lock do lose some', async () => {
      await t.writeCounter(0);
      await Promise.all(
        Array.from({ length: 50 }, async () => {
          const value = await t.readCounter();
          await t.writeCounter(value + 1);
        }),
      );
      expect(await t.readCounter()).toBeLessThan(50);
    });
  });
}

/**
 * The suite on one Redis deployment: locks on `client()` (any client Keel takes), the fencing
 * counter read and written through `raw()` (ioredis on the same data). Functions, so a client
 * a `beforeAll` creates is read when the cases run.
 */
export function describeRedisLockConformance(
  name: string,
  client: () => NonNullable<CreateLockOptions['client']>,
  raw: () => Redis | Cluster,
): void {
  describeLockConformance(name, () => {
    const prefix = testPrefix();
    const counterKey = `${prefix}counter`;
    return {
      create: (options) => createLock({ ...options, client: client(), prefix }),
      readCounter: async () => Number((await raw().get(counterKey)) ?? 0),
      writeCounter: async (value) => {
        await raw().set(counterKey, value);
      },
      cleanup: async () => {
        await cleanupPrefix(raw(), prefix);
      },
    };
  });
}
