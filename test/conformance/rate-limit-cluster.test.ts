import { createRedisStore } from '@keel/rate-limit';
import type { Cluster } from 'ioredis';
import { beforeAll } from 'vitest';
import { cleanupPrefix, createTestCluster, testPrefix } from '../support/index.js';
import { describeRateLimitConformance } from './rate-limit.js';

let client: Cluster;
beforeAll(async () => {
  client = await createTestCluster();
});

describeRateLimitConformance('3-master Redis Cluster', (clock) => {
  const prefix = testPrefix();
  return {
    store: createRedisStore({ client, prefix, clockForTests: clock, deadlineMs: 2000 }),
    cleanup: () => cleanupPrefix(client, prefix),
  };
});
