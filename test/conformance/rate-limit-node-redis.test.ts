import { createRedisStore } from '@keel/rate-limit';
import { cleanupPrefix, createTestRedis, testPrefix } from '../support/index.js';
import { createTestNodeRedis } from '../support/node-redis.js';
import { describeRateLimitConformance } from './rate-limit.js';

const client = await createTestNodeRedis();
const raw = createTestRedis();

describeRateLimitConformance('node-redis', (clock) => {
  const prefix = testPrefix();
  return {
    store: createRedisStore({ client, prefix, clockForTests: clock, deadlineMs: 2000 }),
    cleanup: () => cleanupPrefix(raw, prefix),
  };
});
