import { createCache } from '@keel/cache';
import { createManualClock } from '@keel/core';
import { cleanupPrefix, createTestCluster, testPrefix } from '../support/index.js';
import { describeCacheConformance } from './cache.js';

describeCacheConformance(
  '3-master Redis Cluster',
  async () => {
    const client = await createTestCluster({ enableOfflineQueue: false });
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
