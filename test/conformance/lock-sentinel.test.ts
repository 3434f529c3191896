import { createLock } from '@keel/lock';
import type { Redis } from 'ioredis';
import { beforeAll } from 'vitest';
import { cleanupPrefix, createTestSentinel, testPrefix } from '../support/index.js';
import { describeLockConformance } from './lock.js';

let cluster: Redis;
beforeAll(async () => {
  cluster = await createTestSentinel();
});

describeLockConformance('Sentinel (master, 2 replicas, 3 sentinels)', () => {
  const prefix = testPrefix();
  const counterKey = `${prefix}counter`;
  return {
    create: (options) => createLock({ ...options, client: cluster, prefix }),
    readCounter: async () => Number((await cluster.get(counterKey)) ?? 0),
    writeCounter: async (value) => {
      await cluster.set(counterKey, value);
    },
    cleanup: async () => {
      await cleanupPrefix(cluster, prefix);
    },
  };
});
