/**
 * With the server clock (production mode, no test clock): keys live exactly as long as their
 * state matters, and sub-second windows really expire.
 */
import { randomUUID } from 'node:crypto';
import { ALGORITHM_NAMES, createRedisStore, type StorePolicy } from '@keel/rate-limit';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupPrefix, createTestRedis, testPrefix } from '../../../../test/support/index.js';

const client = createTestRedis();
const prefix = testPrefix();
afterAll(() => cleanupPrefix(client, prefix));
const store = createRedisStore({ client, prefix, deadlineMs: 2000 });

describe('Redis keys on the server clock', () => {
  it.each(ALGORITHM_NAMES)('%s: the key expires with its state', async (algorithm) => {
    const clientKey = randomUUID();
    const policy: StorePolicy = {
      keyParts: ['ttl', algorithm],
      algorithm,
      limit: 10,
      windowMs: 10_000,
      burst: 10,
    };
    await store.check({ clientKey, cost: 1, policies: [policy] });
    const keys = await client.keys(`${prefix}rl:*:ttl:${algorithm}`);
    const pttls = await Promise.all(keys.map((k) => client.pttl(k)));
    expect(pttls.length).toBeGreaterThan(0);
    const bound = algorithm === 'sliding-window' ? 20_000 : 10_000;
    for (const pttl of pttls) {
      expect(pttl).toBeGreaterThan(0);
      expect(pttl).toBeLessThanOrEqual(bound);
    }
    // The fixed window's expiry is set once: later hits do not extend it.
    if (algorithm === 'fixed-window') {
      await new Promise((resolve) => setTimeout(resolve, 30));
      await store.check({ clientKey, cost: 1, policies: [policy] });
      expect(await client.pttl(keys[0]!)).toBeLessThanOrEqual(pttls[0]! - 20);
    }
  });

  it('a 60 ms window refuses, then allows again once it has passed', async () => {
    const clientKey = randomUUID();
    const policy: StorePolicy = {
      keyParts: ['sub'],
      algorithm: 'fixed-window',
      limit: 1,
      windowMs: 60,
      burst: 1,
    };
    expect((await store.check({ clientKey, cost: 1, policies: [policy] })).allowed).toBe(true);
    const refused = await store.check({ clientKey, cost: 1, policies: [policy] });
    expect(refused.allowed).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, refused.decisions[0]!.retryAfterMs + 5));
    expect((await store.check({ clientKey, cost: 1, policies: [policy] })).allowed).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 70));
    expect(await client.keys(`${prefix}rl:*:sub`)).toEqual([]);
  });
});
