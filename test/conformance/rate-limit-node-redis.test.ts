import { createTestRedis } from '../support/index.js';
import { createTestNodeRedis } from '../support/node-redis.js';
import { describeRedisRateLimitConformance } from './rate-limit.js';

const client = await createTestNodeRedis();
const raw = createTestRedis();

describeRedisRateLimitConformance('node-redis', () => ({ client, raw }));
