/**
 * The three backends the cross-framework idempotency scenarios run on, each with a manual clock
 * (the Redis stores take it through `clockForTests`, so leases expire without sleeping).
 */
import { createManualClock, type ManualClock } from '@keel/core';
import {
  createMemoryIdempotencyStore,
  createRedisIdempotencyStore,
  type IdempotencyStore,
} from '@keel/idempotency';
import { cleanupPrefix, createTestCluster, createTestRedis, testPrefix } from '../support/index.js';

export interface Backend {
  store: IdempotencyStore;
  clock: ManualClock;
  cleanup: () => Promise<unknown>;
}

export const backends: [string, () => Promise<Backend>][] = [
  [
    'memory',
    async () => {
      const clock = createManualClock();
      return {
        store: createMemoryIdempotencyStore({ clock }),
        clock,
        cleanup: async () => {},
      };
    },
  ],
  [
    'standalone Redis',
    async () => {
      const clock = createManualClock();
      const client = createTestRedis();
      const prefix = testPrefix();
      return {
        store: createRedisIdempotencyStore({ client, prefix, clockForTests: clock }),
        clock,
        cleanup: () => cleanupPrefix(client, prefix),
      };
    },
  ],
  [
    'Redis Cluster',
    async () => {
      const clock = createManualClock();
      const client = await createTestCluster();
      const prefix = testPrefix();
      return {
        store: createRedisIdempotencyStore({ client, prefix, clockForTests: clock }),
        clock,
        cleanup: () => cleanupPrefix(client, prefix),
      };
    },
  ],
];
