import type { Redis } from 'ioredis';
import { beforeAll } from 'vitest';
import { createTestSentinel } from '../support/index.js';
import { describeRedisRateLimitConformance } from './rate-limit.js';

let client: Redis;
beforeAll(async () => {
  client = await createTestSentinel();
});

describeRedisRateLimitConformance('Sentinel (master, 2 replicas, 3 sentinels)', () => ({
  client,
  raw: client,
}));
