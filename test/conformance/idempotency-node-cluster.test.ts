import { createTestCluster } from '../support/index.js';
import { createTestNodeCluster } from '../support/node-redis.js';
import { describeRedisIdempotencyConformance } from './idempotency.js';

const client = await createTestNodeCluster();
const raw = await createTestCluster();

describeRedisIdempotencyConformance('node-redis Cluster', () => ({ client, raw }));
