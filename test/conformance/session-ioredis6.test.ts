import { createRedisSessionStorage } from '@keel/session';
import { cleanupPrefix, createTestRedis, testPrefix } from '../support/index.js';
import { createTestIoredis6 } from '../support/ioredis-matrix.js';
import { describeSessionConformance } from './session.js';

const client = await createTestIoredis6();
const raw = createTestRedis();

describeSessionConformance(
  'ioredis 6',
  () => {
    const prefix = testPrefix();
    return {
      storage: () => createRedisSessionStorage({ client, prefix, indexPrefix: prefix }),
      writeRaw: async (id, payload) => {
        await raw.set(`${prefix}${id}`, payload, 'PX', 60_000);
      },
      age: async (id, ms) => {
        // The server clock cannot move: shrink the remaining TTL instead.
        const pttl = await raw.pttl(`${prefix}${id}`);
        await raw.pexpire(`${prefix}${id}`, pttl - ms);
      },
      cleanup: async () => {
        await cleanupPrefix(raw, prefix);
        await cleanupPrefix(raw, `{${prefix}`);
      },
    };
  },
  { clock: false },
);
