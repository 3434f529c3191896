/**
 * Redis hangs (the fault proxy blackholes the connection): every lock operation answers within
 * its deadline with a typed error, and a held lock is declared lost when its validity runs out
 * even though no renewal could get through.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupPrefix, createTestRedis, testPrefix } from '../../../../test/support/index.js';
import { createLock, LockLostError, LockUnavailableError } from '../../src/index.js';
import { attributesOf, proxiedClient, recorder } from './support.js';

const direct = createTestRedis();
let prefix = testPrefix();
afterEach(async () => {
  await cleanupPrefix(direct, prefix);
  prefix = testPrefix();
});

const DEADLINE_MS = 100;
/** Slack for a busy shared machine: timers and the event loop may run late. */
const SLACK_MS = 400;

async function timed<T>(work: Promise<T>): Promise<{ result: unknown; ms: number }> {
  const started = performance.now();
  const result = await work.catch((e: unknown) => e);
  return { result, ms: performance.now() - started };
}

describe('when Redis hangs', () => {
  it('acquire, extend and release answer within their deadlines', async () => {
    const { proxy, client, close } = await proxiedClient();
    try {
      const locks = createLock({ client, prefix, deadlineMs: DEADLINE_MS, breaker: false });
      const held = await locks.acquire('held', { ttlMs: 10_000 });
      proxy.blackhole();

      const acquire = await timed(locks.acquire('other', { retry: { attempts: 1 } }));
      expect(acquire.result).toBeInstanceOf(LockUnavailableError);
      expect((acquire.result as LockUnavailableError).operation).toBe('acquire');
      expect(acquire.ms).toBeLessThan(2 * DEADLINE_MS + SLACK_MS); // the attempt + its cleanup

      const retried = await timed(
        locks.acquire('other', { retry: { attempts: 3, delayMs: 10, jitterMs: 0 } }),
      );
      expect(retried.result).toBeInstanceOf(LockUnavailableError);
      expect(retried.ms).toBeLessThan(4 * DEADLINE_MS + 20 + SLACK_MS);

      const extend = await timed(held.extend());
      expect(extend.result).toBeInstanceOf(LockUnavailableError);
      expect(extend.ms).toBeLessThan(DEADLINE_MS + SLACK_MS);
      expect(held.isHeld()).toBe(true); // a failed extend is not a lost lock

      const release = await timed(held.release());
      expect(release.result).toBeInstanceOf(LockUnavailableError);
      expect((release.result as LockUnavailableError).operation).toBe('release');
      expect(release.ms).toBeLessThan(DEADLINE_MS + SLACK_MS);
    } finally {
      await close();
    }
  });

  it('tryAcquire fails fast once the circuit is open', async () => {
    const { proxy, client, close } = await proxiedClient();
    try {
      const locks = createLock({
        client,
        prefix,
        deadlineMs: 50,
        breaker: { failureThreshold: 2, openMs: 10_000 },
      });
      proxy.blackhole();
      for (let i = 0; i < 2; i++) {
        await expect(locks.tryAcquire(`r${i}`)).rejects.toBeInstanceOf(LockUnavailableError);
      }
      const open = await timed(locks.tryAcquire('r'));
      expect(open.result).toBeInstanceOf(LockUnavailableError);
      expect((open.result as Error).message).toContain('circuit open');
      expect(open.ms).toBeLessThan(100); // no I/O at all: only a loaded machine takes this long
    } finally {
      await close();
    }
  });

  it('withLock: renewals cannot get through, the signal fires at the end of validity, withLock rejects', async () => {
    const { proxy, client, close } = await proxiedClient();
    try {
      const rec = recorder();
      const locks = createLock({
        client,
        prefix,
        deadlineMs: 50,
        breaker: false,
        events: rec.events,
      });
      const ttlMs = 300;
      const started = performance.now();
      const outcome = await timed(
        locks.withLock(
          'job',
          async ({ signal }) => {
            proxy.blackhole();
            // fn honours the signal; bounded in case it never fires
            await new Promise((resolve) => {
              const guard = setTimeout(resolve, 3_000);
              signal.addEventListener('abort', () => {
                clearTimeout(guard);
                resolve(undefined);
              });
            });
            return performance.now() - started;
          },
          { ttlMs },
        ),
      );
      expect(outcome.result).toBeInstanceOf(LockLostError);
      expect((outcome.result as LockLostError).reason).toBe('expired');
      // Lost at the end of validity (ttl − drift), released (or not) within one deadline.
      expect(outcome.ms).toBeGreaterThanOrEqual(ttlMs - 10);
      expect(outcome.ms).toBeLessThan(ttlMs + 50 + SLACK_MS);
      expect(rec.names()).toContain('lock.lost');
      const timeouts = rec.seen.filter(
        (e) => attributesOf(e, 'store.call')?.operation === 'lock.extend',
      );
      expect(timeouts.length).toBeGreaterThan(0);
    } finally {
      await close();
    }
  });

  it('a quorum answer that arrives after the validity ran out is not a lock', async () => {
    const { proxy, client, close } = await proxiedClient();
    try {
      const locks = createLock({ client, prefix, deadlineMs: 1_000, breaker: false });
      await (await locks.acquire('warm-up')).release();
      proxy.setLatency(40); // ~80 ms round trip, for a 50 ms TTL
      const late = await locks
        .acquire('slow', { ttlMs: 50, retry: { attempts: 1 } })
        .catch((e: unknown) => e);
      expect(late).toBeInstanceOf(LockUnavailableError);
      expect((late as Error).message).toContain("after the lock's validity");
    } finally {
      await close();
    }
  });
});
