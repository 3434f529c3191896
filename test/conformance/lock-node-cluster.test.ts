import { createLock } from '@keel/lock';
import { cleanupPrefix, createTestCluster, testPrefix } from '../support/index.js';
import { createTestNodeCluster } from '../support/node-redis.js';
import { describeLockConformance } from './lock.js';

const client = await createTestNodeCluster();
const raw = await createTestCluster();

describeLockConformance('node-redis Cluster', () => {
  const prefix = testPrefix();
  const counterKey = `${prefix}counter`;
  return {
    create: (options) => createLock({ ...options, client, prefix }),
    readCounter: async () => Number((await raw.get(counterKey)) ?? 0),
    writeCounter: async (value) => {
      await raw.set(counterKey, value);
    },
    cleanup: async () => {
      await cleanupPrefix(raw, prefix);
    },
  };
});
