import { createLock } from '@keel/lock';
import { cleanupPrefix, createTestRedis, testPrefix } from '../support/index.js';
import { describeLockConformance } from './lock.js';

const client = createTestRedis();

describeLockConformance('standalone Redis', () => {
  const prefix = testPrefix();
  const counterKey = `${prefix}counter`;
  return {
    create: (options) => createLock({ ...options, client, prefix }),
    readCounter: async () => Number((await client.get(counterKey)) ?? 0),
    writeCounter: async (value) => {
      await client.set(counterKey, value);
    },
    cleanup: async () => {
      await cleanupPrefix(client, prefix);
    },
  };
});
