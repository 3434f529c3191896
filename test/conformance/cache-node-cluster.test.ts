import { createTestCluster } from '../support/index.js';
import { createTestNodeCluster } from '../support/node-redis.js';
import { describeRedisCacheConformance } from './cache.js';

const client = await createTestNodeCluster();
const raw = await createTestCluster();

describeRedisCacheConformance('node-redis Cluster', () => ({ client, raw }));
