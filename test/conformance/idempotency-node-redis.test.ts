import { createRedisIdempotencyStore } from '@keel/idempotency';
import { cleanupPrefix, createTestRedis, testPrefix } from '../support/index.js';
import { createTestNodeRedis } from '../support/node-redis.js';
import { describeIdempotencyConformance } from './idempotency.js';

const client = await createTestNodeRedis();
const raw = createTestRedis();

describeIdempotencyConformance(
  'node-redis',
  (clock) => {
    const prefix = testPrefix();
    return {
      store: createRedisIdempotencyStore({ client, prefix, clockForTests: clock }),
      cleanup: () => cleanupPrefix(raw, prefix),
    };
  },
  { clockDrivesExpiry: false },
);
