import type { Cluster } from 'ioredis';
import { beforeAll } from 'vitest';
import { createTestCluster } from '../support/index.js';
import { describeRedisRateLimitConformance } from './rate-limit.js';

let client: Cluster;
beforeAll(async () => {
  client = await createTestCluster();
});

describeRedisRateLimitConformance('3-master Redis Cluster', () => ({ client, raw: client }));
