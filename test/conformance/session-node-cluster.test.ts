import { createTestCluster } from '../support/index.js';
import { createTestNodeCluster } from '../support/node-redis.js';
import { describeRedisSessionConformance } from './session.js';

const client = await createTestNodeCluster();
const raw = await createTestCluster();

describeRedisSessionConformance(
  'node-redis Cluster',
  () => client,
  () => raw,
);
