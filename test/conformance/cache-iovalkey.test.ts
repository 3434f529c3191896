import { createCache } from '@keel/cache';
import { createManualClock } from '@keel/core';
import { cleanupPrefix, createTestRedis, testPrefix } from '../support/index.js';
import { createTestIovalkey } from '../support/ioredis-matrix.js';
import { describeCacheConformance } from './cache.js';

// The client's own defaults: the cache bypasses Redis past its deadline either way.
const client = await createTestIovalkey();
const raw = createTestRedis();

describeCacheConformance(
  'iovalkey',
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
