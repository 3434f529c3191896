/**
 * A reply lost after the script ran: the lock was really taken, the client never heard. The
 * retry must recognise its own token ("already ours", same fencing token, no second token), and
 * nothing may delete the lock that was really taken.
 */
import { createKeyspace } from '@keel/core';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupPrefix, createTestRedis, testPrefix } from '../../../../test/support/index.js';
import { createLock, LockBusyError, LockUnavailableError } from '../../src/index.js';
import { attributesOf, proxiedClient, recorder } from './support.js';

const direct = createTestRedis();
let prefix = testPrefix();
afterEach(async () => {
  await cleanupPrefix(direct, prefix);
  prefix = testPrefix();
});

const keysOf = (resource: string) => {
  const ks = createKeyspace(prefix, 'lock');
  return { owner: ks.key(resource, 'owner'), fence: ks.key(resource, 'fence') };
};

describe('a lost reply after a successful acquire', () => {
  it('is recognised by the retry, and the real lock survives', async () => {
    const { proxy, client, close } = await proxiedClient();
    try {
      // A real lost reply ends with a broken connection: reset it when the deadline passes.
      const rec = recorder((e) => {
        if (attributesOf(e, 'store.call')?.outcome === 'timeout') proxy.resetAll();
      });
      const locks = createLock({
        client,
        prefix,
        deadlineMs: 150,
        events: rec.events,
        breaker: false,
      });
      await (await locks.acquire('warm-up')).release(); // the script is loaded: no NOSCRIPT round

      proxy.dropReplies(1);
      const lock = await locks.acquire('payment:42', {
        ttlMs: 10_000,
        retry: { attempts: 20, delayMs: 30, jitterMs: 10 },
      });
      const keys = keysOf('payment:42');
      expect(await direct.get(keys.owner)).toBe(lock.token);
      // One token only: the retry got the first attempt's fencing token back, and the counter
      // did not move again.
      expect(await direct.get(keys.fence)).toBe(String(lock.fencingToken));
      const acquired = rec.seen.find(
        (e) => attributesOf(e, 'lock.acquired')?.resource === 'payment:42',
      );
      expect(attributesOf(acquired!, 'lock.acquired')?.attempts).toBeGreaterThan(1);
      expect(rec.seen.some((e) => attributesOf(e, 'store.call')?.outcome === 'timeout')).toBe(true);
      // The TTL was set again by the retry, and no cleanup deleted the lock.
      expect(await direct.pttl(keys.owner)).toBeGreaterThan(9_000);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(await direct.get(keys.owner)).toBe(lock.token);
      expect(lock.isHeld()).toBe(true);
      expect(await locks.tryAcquire('payment:42')).toBeUndefined();
      expect(await lock.release()).toBe(true);
      expect(await direct.exists(keys.owner)).toBe(0);
    } finally {
      await close();
    }
  });

  it('when acquire gives up, cleanup removes only what its own token took', async () => {
    const { proxy, client, close } = await proxiedClient();
    try {
      const locks = createLock({ client, prefix, deadlineMs: 60, breaker: false });
      const other = createLock({ client: direct, prefix });
      const held = await other.acquire('held-by-b', { ttlMs: 10_000 });
      await (await locks.acquire('warm-up')).release();

      // Every request is slower than the deadline but still runs: A's acquire times out, and
      // its cleanup release (A's token) reaches Redis after it. B's lock must survive both.
      proxy.setLatency(50);
      const error = await locks
        .acquire('held-by-b', { retry: { attempts: 1 } })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LockUnavailableError);
      proxy.setLatency(0);
      await new Promise((resolve) => setTimeout(resolve, 150)); // delayed commands have landed
      expect(await direct.get(keysOf('held-by-b').owner)).toBe(held.token);
      expect(held.isHeld()).toBe(true);
      const busy = await other
        .acquire('held-by-b', { retry: { attempts: 1 } })
        .catch((e: unknown) => e);
      expect(busy).toBeInstanceOf(LockBusyError);
      expect(await held.release()).toBe(true);
    } finally {
      await close();
    }
  });

  it('when acquire gives up after its request really took the lock, cleanup frees it', async () => {
    const { proxy, client, close } = await proxiedClient();
    try {
      const locks = createLock({ client, prefix, deadlineMs: 100, breaker: false });
      await (await locks.acquire('warm-up')).release();
      // The acquire reaches Redis at ~70 ms, well before its deadline (so its guard lets it
      // run), and its reply comes at ~140 ms, too late.
      proxy.setLatency(70);
      const error = await locks
        .acquire('orphan', { retry: { attempts: 1 } })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LockUnavailableError);
      proxy.setLatency(0);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(await direct.exists(keysOf('orphan').owner)).toBe(0);
      expect(await direct.get(keysOf('orphan').fence)).not.toBeNull(); // it was taken, then freed
    } finally {
      await close();
    }
  });
});
