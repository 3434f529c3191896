import { createTestRedis } from '../support/index.js';
import { createTestNodeRedis } from '../support/node-redis.js';
import { describeRedisCacheConformance } from './cache.js';

// No offline queue, as README advises for node-redis (and createRedisClient does for ioredis).
const client = await createTestNodeRedis({ disableOfflineQueue: true });
const raw = createTestRedis();

describeRedisCacheConformance('node-redis', () => ({ client, raw }));
