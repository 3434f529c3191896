import { createTestCluster } from '../support/index.js';
import { describeRedisCacheConformance } from './cache.js';

describeRedisCacheConformance('3-master Redis Cluster', async () => {
  const client = await createTestCluster({ enableOfflineQueue: false });
  return { client, raw: client };
});
