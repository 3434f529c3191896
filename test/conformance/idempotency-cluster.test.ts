import { createRedisIdempotencyStore } from '@keel/idempotency';
import { cleanupPrefix, createTestCluster, testPrefix } from '../support/index.js';
import { describeIdempotencyConformance } from './idempotency.js';

describeIdempotencyConformance(
  '3-master Redis Cluster',
  async (clock) => {
    const client = await createTestCluster();
    const prefix = testPrefix();
    return {
      store: createRedisIdempotencyStore({ client, prefix, clockForTests: clock }),
      cleanup: () => cleanupPrefix(client, prefix),
    };
  },
  { clockDrivesExpiry: false },
);
