import { createTestRedis } from '../support/index.js';
import { createTestNodeRedis } from '../support/node-redis.js';
import { describeRedisIdempotencyConformance } from './idempotency.js';

const client = await createTestNodeRedis();
const raw = createTestRedis();

describeRedisIdempotencyConformance('node-redis', () => ({ client, raw }));
