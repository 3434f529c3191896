import { createLock } from '@keel/lock';
import { cleanupPrefix, createTestRedis, testPrefix } from '../support/index.js';
import { createTestNodeRedis } from '../support/node-redis.js';
import { describeLockConformance } from './lock.js';

const client = await createTestNodeRedis();
const raw = createTestRedis();

describeLockConformance('node-redis', () => {
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
