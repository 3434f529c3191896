import { createRedisStore } from '@keel/rate-limit';
import { cleanupPrefix, createTestRedis, testPrefix } from '../support/index.js';
import { describeRateLimitConformance } from './rate-limit.js';

const client = createTestRedis();

describeRateLimitConformance('standalone Redis', (clock) => {
  const prefix = testPrefix();
  return {
    store: createRedisStore({ client, prefix, clockForTests: clock, deadlineMs: 2000 }),
    cleanup: () => cleanupPrefix(client, prefix),
  };
});
