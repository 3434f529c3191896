import { createRedisIdempotencyStore } from '@keel/idempotency';
import { cleanupPrefix, createTestRedis, testPrefix } from '../support/index.js';
import { describeIdempotencyConformance } from './idempotency.js';

const client = createTestRedis();

describeIdempotencyConformance(
  'standalone Redis',
  (clock) => {
    const prefix = testPrefix();
    return {
      store: createRedisIdempotencyStore({ client, prefix, clockForTests: clock }),
      cleanup: () => cleanupPrefix(client, prefix),
    };
  },
  { clockDrivesExpiry: false },
);
