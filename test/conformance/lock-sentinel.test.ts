import type { Redis } from 'ioredis';
import { beforeAll } from 'vitest';
import { createTestSentinel } from '../support/index.js';
import { describeRedisLockConformance } from './lock.js';

let master: Redis;
beforeAll(async () => {
  master = await createTestSentinel();
});

describeRedisLockConformance(
  'Sentinel (master, 2 replicas, 3 sentinels)',
  () => master,
  () => master,
);
