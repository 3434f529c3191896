import { createRedisSessionStorage } from '@keel/session';
import type { Redis } from 'ioredis';
import { beforeAll } from 'vitest';
import { cleanupPrefix, createTestSentinel, testPrefix } from '../support/index.js';
import { describeSessionConformance } from './session.js';

let cluster: Redis;
beforeAll(async () => {
  cluster = await createTestSentinel();
});

describeSessionConformance(
  'Sentinel (master, 2 replicas, 3 sentinels)',
  () => {
    const prefix = testPrefix();
    return {
      storage: () => createRedisSessionStorage({ client: cluster, prefix, indexPrefix: prefix }),
      writeRaw: async (id, payload) => {
        await cluster.set(`${prefix}${id}`, payload, 'PX', 60_000);
      },
      age: async (id, ms) => {
        // The server clock cannot move: shrink the remaining TTL instead.
        const pttl = await cluster.pttl(`${prefix}${id}`);
        await cluster.pexpire(`${prefix}${id}`, pttl - ms);
      },
      cleanup: async () => {
        await cleanupPrefix(cluster, prefix);
        await cleanupPrefix(cluster, `{${prefix}`);
      },
    };
  },
  { clock: false },
);
