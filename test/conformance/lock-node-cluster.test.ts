import { createTestCluster } from '../support/index.js';
import { createTestNodeCluster } from '../support/node-redis.js';
import { describeRedisLockConformance } from './lock.js';

const client = await createTestNodeCluster();
const raw = await createTestCluster();

describeRedisLockConformance(
  'node-redis Cluster',
  () => client,
  () => raw,
);
