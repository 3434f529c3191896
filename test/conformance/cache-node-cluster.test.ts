import { createCache } from '@keel/cache';
import { createManualClock } from '@keel/core';
import { cleanupPrefix, createTestCluster, testPrefix } from '../support/index.js';
import { createTestNodeCluster } from '../support/node-redis.js';
import { describeCacheConformance } from './cache.js';

const client = await createTestNodeCluster();
const raw = await createTestCluster();

describeCacheConformance(
  'node-redis Cluster',
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
