import { createRedisIdempotencyStore } from '@keel/idempotency';
import { cleanupPrefix, createTestCluster, testPrefix } from '../support/index.js';
import { createTestNodeCluster } from '../support/node-redis.js';
import { describeIdempotencyConformance } from './idempotency.js';

const client = await createTestNodeCluster();
const raw = await createTestCluster();

describeIdempotencyConformance(
  'node-redis Cluster',
  (clock) => {
    const prefix = testPrefix();
    return {
      store: createRedisIdempotencyStore({ client, prefix, clockForTests: clock }),
      cleanup: () => cleanupPrefix(raw, prefix),
    };
  },
  { clockDrivesExpiry: false },
);
