import { createRedisSessionStorage } from '@keel/session';
import { cleanupPrefix, createTestCluster, testPrefix } from '../support/index.js';
import { createTestNodeCluster } from '../support/node-redis.js';
import { describeSessionConformance } from './session.js';

const client = await createTestNodeCluster();
const raw = await createTestCluster();

describeSessionConformance(
  'node-redis Cluster',
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
