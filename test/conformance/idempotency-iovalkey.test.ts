import { createRedisIdempotencyStore } from '@keel/idempotency';
import { cleanupPrefix, createTestRedis, testPrefix } from '../support/index.js';
import { createTestIovalkey } from '../support/ioredis-matrix.js';
import { describeIdempotencyConformance } from './idempotency.js';

const client = await createTestIovalkey();
const raw = createTestRedis();

describeIdempotencyConformance(
  'iovalkey',
  (clock) => {
    const prefix = testPrefix();
    return {
      store: createRedisIdempotencyStore({ client, prefix, clockForTests: clock }),
      cleanup: () => cleanupPrefix(raw, prefix),
    };
  },
  { clockDrivesExpiry: false },
);
