import { createRedisStore } from '@keel/rate-limit';
import { cleanupPrefix, createTestRedis, testPrefix } from '../support/index.js';
import { createTestIovalkey } from '../support/ioredis-matrix.js';
import { describeRateLimitConformance } from './rate-limit.js';

const client = await createTestIovalkey();
const raw = createTestRedis();

describeRateLimitConformance('iovalkey', (clock) => {
  const prefix = testPrefix();
  return {
    store: createRedisStore({ client, prefix, clockForTests: clock, deadlineMs: 2000 }),
    cleanup: () => cleanupPrefix(raw, prefix),
  };
});
