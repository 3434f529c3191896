import type { Cluster } from 'ioredis';
import { beforeAll } from 'vitest';
import { createTestCluster } from '../support/index.js';
import { describeRedisLockConformance } from './lock.js';

let cluster: Cluster;
beforeAll(async () => {
  cluster = await createTestCluster();
});

describeRedisLockConformance(
  '3-master Redis Cluster',
  () => cluster,
  () => cluster,
);
