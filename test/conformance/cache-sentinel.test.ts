import { createCache } from '@keel/cache';
import { createManualClock } from '@keel/core';
import { cleanupPrefix, createTestSentinel, testPrefix } from '../support/index.js';
import { describeCacheConformance } from './cache.js';

describeCacheConformance(
  'Sentinel (master, 2 replicas, 3 sentinels)',
  async () => {
    const client = await createTestSentinel({ enableOfflineQueue: false });
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
