import { createRedisStore } from '@keel/rate-limit';
import { cleanupPrefix, createTestCluster, testPrefix } from '../support/index.js';
import { createTestNodeCluster } from '../support/node-redis.js';
import { describeRateLimitConformance } from './rate-limit.js';

const client = await createTestNodeCluster();
const raw = await createTestCluster();

describeRateLimitConformance('node-redis Cluster', (clock) => {
  const prefix = testPrefix();
  return {
    store: createRedisStore({ client, prefix, clockForTests: clock, deadlineMs: 2000 }),
    cleanup: () => cleanupPrefix(raw, prefix),
  };
});
