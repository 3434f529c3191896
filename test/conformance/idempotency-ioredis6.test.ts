import { createRedisIdempotencyStore } from '@keel/idempotency';
import { cleanupPrefix, createTestRedis, testPrefix } from '../support/index.js';
import { createTestIoredis6 } from '../support/ioredis-matrix.js';
import { describeIdempotencyConformance } from './idempotency.js';

const client = await createTestIoredis6();
const raw = createTestRedis();

describeIdempotencyConformance(
  'ioredis 6',
  (clock) => {
    const prefix = testPrefix();
    return {
      store: createRedisIdempotencyStore({ client, prefix, clockForTests: clock }),
      cleanup: () => cleanupPrefix(raw, prefix),
    };
  },
  { clockDrivesExpiry: false },
);
