import { createCache } from '@keel/cache';
import { createManualClock } from '@keel/core';
import { cleanupPrefix, createTestRedis, testPrefix } from '../support/index.js';
import { describeCacheConformance } from './cache.js';

const client = createTestRedis({ enableOfflineQueue: false });

describeCacheConformance(
  'standalone Redis',
  async () => {
    // No offline queue (as createRedisClient): wait for the connection before the first test.
    if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
    const clock = createManualClock();
    const prefix = testPrefix();
    return {
      clock,
      create: (options = {}) => createCache({ ...options, client, prefix, clockForTests: clock }),
      cleanup: () => cleanupPrefix(client, prefix),
    };
  },
  { shared: true },
);
