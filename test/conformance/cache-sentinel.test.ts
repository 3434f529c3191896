import { createTestSentinel } from '../support/index.js';
import { describeRedisCacheConformance } from './cache.js';

describeRedisCacheConformance('Sentinel (master, 2 replicas, 3 sentinels)', async () => {
  const client = await createTestSentinel({ enableOfflineQueue: false });
  return { client, raw: client };
});
