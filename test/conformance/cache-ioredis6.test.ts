import { createCache } from '@keel/cache';
import { createManualClock } from '@keel/core';
import { cleanupPrefix, createTestRedis, testPrefix } from '../support/index.js';
import { createTestIoredis6 } from '../support/ioredis-matrix.js';
import { describeCacheConformance } from './cache.js';

// The client's own defaults: the cache bypasses Redis past its deadline either way.
const client = await createTestIoredis6();
const raw = createTestRedis();

describeCacheConformance(
  'ioredis 6',
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
