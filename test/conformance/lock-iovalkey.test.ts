import { createLock } from '@keel/lock';
import { cleanupPrefix, createTestRedis, testPrefix } from '../support/index.js';
import { createTestIovalkey } from '../support/ioredis-matrix.js';
import { describeLockConformance } from './lock.js';

const client = await createTestIovalkey();
const raw = createTestRedis();

describeLockConformance('iovalkey', () => {
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
