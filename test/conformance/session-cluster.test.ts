import { createRedisSessionStorage } from '@keel/session';
import type { Cluster } from 'ioredis';
import { beforeAll } from 'vitest';
import { cleanupPrefix, createTestCluster, testPrefix } from '../support/index.js';
import { describeSessionConformance } from './session.js';

let cluster: Cluster;
beforeAll(async () => {
  cluster = await createTestCluster();
});

describeSessionConformance(
  '3-master Redis Cluster',
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
