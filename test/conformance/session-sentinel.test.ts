import type { Redis } from 'ioredis';
import { beforeAll } from 'vitest';
import { createTestSentinel } from '../support/index.js';
import { describeRedisSessionConformance } from './session.js';

let client: Redis;
beforeAll(async () => {
  client = await createTestSentinel();
});

describeRedisSessionConformance(
  'Sentinel (master, 2 replicas, 3 sentinels)',
  () => client,
  () => client,
);
