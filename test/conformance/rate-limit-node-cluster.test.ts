import { createTestCluster } from '../support/index.js';
import { createTestNodeCluster } from '../support/node-redis.js';
import { describeRedisRateLimitConformance } from './rate-limit.js';

const client = await createTestNodeCluster();
const raw = await createTestCluster();

describeRedisRateLimitConformance('node-redis Cluster', () => ({ client, raw }));
