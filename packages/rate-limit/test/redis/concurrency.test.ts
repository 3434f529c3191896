/**
 * 1,000 concurrent checks against a limit of 100 allow exactly 100, for every algorithm, on
 * memory, a standalone Redis (two clients, as two application instances) and a Cluster.
 */
import { randomUUID } from 'node:crypto';
import { createManualClock, type KeelRequest } from '@keel/core';
import {
  ALGORITHM_NAMES,
  createMemoryStore,
  createRateLimiter,
  createRedisStore,
  type RateLimitStore,
} from '@keel/rate-limit';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cleanupPrefix,
  createTestCluster,
  createTestRedis,
  testPrefix,
} from '../../../../test/support/index.js';

const request = (): KeelRequest => ({
  method: 'GET',
  path: '/',
  route: undefined,
  search: '',
  headers: {},
  remoteAddress: '198.51.100.20',
  body: undefined,
  rawBody: undefined,
  bodyParsed: false,
  raw: {},
});

/** Time stands still: the tests are about atomicity, not about a window ending meanwhile. */
const frozen = createManualClock();

type Backend = () => Promise<{ stores: RateLimitStore[]; cleanup?: () => Promise<unknown> }>;

const backends: [string, Backend][] = [
  ['memory', async () => ({ stores: [createMemoryStore({ clock: createManualClock() })] })],
  [
    'standalone Redis, two clients',
    async () => {
      const prefix = testPrefix();
      const [a, b] = [createTestRedis(), createTestRedis()];
      return {
        stores: [a, b].map((client) =>
          createRedisStore({ client, prefix, deadlineMs: 5000, clockForTests: frozen }),
        ),
        cleanup: () => cleanupPrefix(a, prefix),
      };
    },
  ],
  [
    'Redis Cluster',
    async () => {
      const prefix = testPrefix();
      const client = await createTestCluster();
      return {
        stores: [createRedisStore({ client, prefix, deadlineMs: 5000, clockForTests: frozen })],
        cleanup: () => cleanupPrefix(client, prefix),
      };
    },
  ],
];

describe.each(backends)('concurrency on %s', (_name, backend) => {
  let cleanup: (() => Promise<unknown>) | undefined;
  afterEach(async () => {
    await cleanup?.();
    cleanup = undefined;
  });

  it.each(ALGORITHM_NAMES)(
    '%s: 1,000 concurrent requests, limit 100 → exactly 100 allowed',
    async (algorithm) => {
      const made = await backend();
      cleanup = made.cleanup;
      const name = `c${randomUUID().slice(0, 8)}`;
      const limiters = made.stores.map((store) =>
        createRateLimiter({
          name,
          store,
          limit: 100,
          windowMs: 60_000,
          algorithm,
          warnings: false,
        }),
      );
      const decisions = await Promise.all(
        Array.from({ length: 1000 }, (_, i) => limiters[i % limiters.length]!.check(request())),
      );
      expect(decisions.filter((d) => d.allowed)).toHaveLength(100);
      expect(decisions.filter((d) => d.reason === 'limited')).toHaveLength(900);
    },
  );
});
