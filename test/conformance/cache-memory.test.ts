import { createCache } from '@keel/cache';
import { createManualClock } from '@keel/core';
import { describeCacheConformance } from './cache.js';

describeCacheConformance(
  'memory',
  () => {
    const clock = createManualClock();
    return {
      clock,
      create: (options = {}) => createCache({ ...options, clock }),
      cleanup: async () => {},
    };
  },
  { shared: false },
);
