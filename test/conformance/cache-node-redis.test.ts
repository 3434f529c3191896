import { createCache } from '@keel/cache';
import { createManualClock } from '@keel/core';
import { cleanupPrefix, createTestRedis, testPrefix } from '../support/index.js';
import { createTestNodeRedis } from '../support/node-redis.js';
import { describeCacheConformance } from './cache.js';

// No offline queue, as README advises for node-redis (and createRedisClient does for ioredis).
const client = await createTestNodeRedis({ disableOfflineQueue: true });
const raw = createTestRedis();

describeCacheConformance(
  'node-redis',
  async () => {
    const clock = createManualClock();
    const prefix = testPrefix();
    return {
      clock,
      create: (options = {}) => createCache({ ...options, client, prefix, clockForTests: clock }),
      cleanup: () => cleanupPrefix(raw, prefix),
    };
  },
  { shared: true },
);
