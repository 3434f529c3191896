import { createRedisSessionStorage } from '@keel/session';
import { cleanupPrefix, createTestRedis, testPrefix } from '../support/index.js';
import { describeSessionConformance } from './session.js';

const client = createTestRedis();

describeSessionConformance(
  'standalone Redis',
  () => {
    const prefix = testPrefix();
    return {
      storage: () => createRedisSessionStorage({ client, prefix, indexPrefix: prefix }),
      writeRaw: async (id, payload) => {
        await client.set(`${prefix}${id}`, payload, 'PX', 60_000);
      },
      age: async (id, ms) => {
        // The server clock cannot move: shrink the remaining TTL instead.
        const pttl = await client.pttl(`${prefix}${id}`);
        await client.pexpire(`${prefix}${id}`, pttl - ms);
      },
      cleanup: async () => {
        await cleanupPrefix(client, prefix);
        await cleanupPrefix(client, `{${prefix}`);
      },
    };
  },
  { clock: false },
);
