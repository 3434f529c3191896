import { createLock } from '@keel/lock';
import type { Cluster } from 'ioredis';
import { beforeAll } from 'vitest';
import { cleanupPrefix, createTestCluster, testPrefix } from '../support/index.js';
import { describeLockConformance } from './lock.js';

let cluster: Cluster;
beforeAll(async () => {
  cluster = await createTestCluster();
});

describeLockConformance('3-master Redis Cluster', () => {
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
