import { createRedisIdempotencyStore } from '@keel/idempotency';
import { cleanupPrefix, createTestSentinel, testPrefix } from '../support/index.js';
import { describeIdempotencyConformance } from './idempotency.js';

describeIdempotencyConformance(
  'Sentinel (master, 2 replicas, 3 sentinels)',
  async (clock) => {
    const client = await createTestSentinel();
    const prefix = testPrefix();
    return {
      store: createRedisIdempotencyStore({ client, prefix, clockForTests: clock }),
      cleanup: () => cleanupPrefix(client, prefix),
    };
  },
  { clockDrivesExpiry: false },
);
