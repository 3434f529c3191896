import { createTestCluster } from '../support/index.js';
import { describeRedisIdempotencyConformance } from './idempotency.js';

describeRedisIdempotencyConformance('3-master Redis Cluster', async () => {
  const client = await createTestCluster();
  return { client, raw: client };
});
