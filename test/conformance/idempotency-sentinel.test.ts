import { createTestSentinel } from '../support/index.js';
import { describeRedisIdempotencyConformance } from './idempotency.js';

describeRedisIdempotencyConformance('Sentinel (master, 2 replicas, 3 sentinels)', async () => {
  const client = await createTestSentinel();
  return { client, raw: client };
});
