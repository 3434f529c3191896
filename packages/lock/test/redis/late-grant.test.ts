/**
 * An acquire Redis only gets to after its caller gave up (Redis stopped with SIGSTOP) does
 * nothing when Redis resumes: the script's guard sees the caller's deadline passed.
 *
 * An acquire that started in time but answered after its deadline took the lock for a caller
 * that was no longer waiting (issue 12). The store's `undo` hands it to the acquire() call: it
 * is released once the call gives up — even when the call's own cleanup could not get through —
 * and kept when a later attempt of the same call (same owner token) handed the lock out.
 */
import { createEvents, createKeyspace, createRedisClient } from '@keel/core';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cleanupPrefix,
  closeClient,
  createTestRedis,
  startRedisServer,
  testPrefix,
} from '../../../../test/support/index.js';
import { createLock, LockUnavailableError } from '../../src/index.js';
import { attributesOf, proxiedClient, ready, recorder } from './support.js';

const direct = createTestRedis();
let prefix = testPrefix();
afterEach(async () => {
  await cleanupPrefix(direct, prefix);
  prefix = testPrefix();
});

const ownerOf = (resource: string) => createKeyspace(prefix, 'lock').key(resource, 'owner');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function settled(check: () => Promise<boolean>): Promise<boolean> {
  for (let i = 0; i < 50; i++) {
    if (await check()) return true;
    await sleep(20);
  }
  return false;
}

describe('a lock granted after its attempt timed out', () => {
  it('is kept when a later attempt of the same acquire() handed it out', async () => {
    const { proxy, client, close } = await proxiedClient();
    try {
      // The first attempt's reply is late; from then on the link is fast again.
      const rec = recorder((e) => {
        if (attributesOf(e, 'store.call')?.outcome === 'timeout') proxy.setLatency(0);
      });
      const locks = createLock({
        client,
        prefix,
        deadlineMs: 200,
        breaker: false,
        events: rec.events,
      });
      await (await locks.acquire('warm-up')).release();

      proxy.setLatency(130); // runs at ~130 ms (in time), answers at ~260 ms (late)
      const lock = await locks.acquire('job', {
        ttlMs: 10_000,
        retry: { attempts: 5, delayMs: 5, jitterMs: 0 },
      });
      // The second attempt was "already ours"; its reply queued behind the late one.
      const acquired = rec.seen.find((e) => attributesOf(e, 'lock.acquired')?.resource === 'job');
      expect(attributesOf(acquired!, 'lock.acquired')?.attempts).toBe(2);
      await sleep(100); // anything the late reply set off has landed
      expect(await direct.get(ownerOf('job'))).toBe(lock.token);
      expect(lock.isHeld()).toBe(true);
      expect(await lock.release()).toBe(true);
    } finally {
      await close();
    }
  });

  it('is released once acquire() gave up, even when its cleanup was refused', async () => {
    const { proxy, client, close } = await proxiedClient();
    try {
      const rec = recorder();
      // One failure opens the circuit: the cleanup after the timeout is refused unsent.
      const locks = createLock({
        client,
        prefix,
        deadlineMs: 200,
        breaker: { failureThreshold: 1, openMs: 10_000 },
        events: rec.events,
      });
      await (await locks.acquire('warm-up')).release();
      proxy.setLatency(130); // runs in time, answers late
      const error = await locks.tryAcquire('job').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LockUnavailableError);
      const compensated = () =>
        rec.seen.some((e) => attributesOf(e, 'store.compensated')?.operation === 'lock.acquire');
      expect(await settled(async () => compensated())).toBe(true);
      const outcome = rec.seen.flatMap((e) => attributesOf(e, 'store.compensated') ?? []);
      expect(outcome).toEqual([{ feature: 'lock', operation: 'lock.acquire', outcome: 'ok' }]);
      // The cleanup never reached Redis (circuit open), the late grant's release did.
      expect(
        rec.seen.some(
          (e) =>
            attributesOf(e, 'store.call')?.operation === 'lock.release' &&
            (e.error as Error | undefined)?.message.includes('circuit open'),
        ),
      ).toBe(true);
      expect(await settled(async () => (await direct.exists(ownerOf('job'))) === 0)).toBe(true);
    } finally {
      await close();
    }
  });
});

describe('an acquire that reaches Redis after its caller gave up', () => {
  it('takes nothing and issues no token when Redis resumes', async () => {
    const server = await startRedisServer();
    const client = createRedisClient({ url: server.url, events: createEvents(() => {}) }) as Redis;
    try {
      await ready(client);
      const locks = createLock({ client, prefix, deadlineMs: 100, breaker: false });
      const before = await locks.acquire('job');
      await before.release();
      const ks = createKeyspace(prefix, 'lock');
      const fence = await client.get(ks.key('job', 'fence'));

      server.pause(); // the script is written to the socket, Redis runs it after SIGCONT
      const error = await locks.tryAcquire('job').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LockUnavailableError);
      server.resume();

      // The guard refused it: no lock, and the counter did not move.
      await sleep(100);
      expect(await client.exists(ks.key('job', 'owner'))).toBe(0);
      expect(await client.get(ks.key('job', 'fence'))).toBe(fence);
      const after = await locks.acquire('job');
      expect(after.fencingToken).toBeGreaterThan(before.fencingToken);
      await after.release();
    } finally {
      server.resume();
      await closeClient(client);
      await server.stop();
    }
  });
});
