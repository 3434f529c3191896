import { createRedisStore } from '@keel/rate-limit';
import type { Redis } from 'ioredis';
import { beforeAll } from 'vitest';
import { cleanupPrefix, createTestSentinel, testPrefix } from '../support/index.js';
import { describeRateLimitConformance } from './rate-limit.js';

let client: Redis;
beforeAll(async () => {
  client = await createTestSentinel();
});

describeRateLimitConformance('Sentinel (master, 2 replicas, 3 sentinels)', (clock) => {
  const prefix = testPrefix();
  return {
    store: createRedisStore({ client, prefix, clockForTests: clock, deadlineMs: 2000 }),
    cleanup: () => cleanupPrefix(client, prefix),
  };
});
