import type { Cluster } from 'ioredis';
import { beforeAll } from 'vitest';
import { createTestCluster } from '../support/index.js';
import { describeRedisSessionConformance } from './session.js';

let cluster: Cluster;
beforeAll(async () => {
  cluster = await createTestCluster();
});

describeRedisSessionConformance(
  '3-master Redis Cluster',
  () => cluster,
  () => cluster,
);
