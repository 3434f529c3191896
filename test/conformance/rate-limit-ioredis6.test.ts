import { createRedisStore } from '@keel/rate-limit';
import { cleanupPrefix, createTestRedis, testPrefix } from '../support/index.js';
import { createTestIoredis6 } from '../support/ioredis-matrix.js';
import { describeRateLimitConformance } from './rate-limit.js';

const client = await createTestIoredis6();
const raw = createTestRedis();

describeRateLimitConformance('ioredis 6', (clock) => {
  const prefix = testPrefix();
  return {
    store: createRedisStore({ client, prefix, clockForTests: clock, deadlineMs: 2000 }),
    cleanup: () => cleanupPrefix(raw, prefix),
  };
});
