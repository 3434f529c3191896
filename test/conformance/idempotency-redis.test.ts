import { createTestRedis } from '../support/index.js';
import { describeRedisIdempotencyConformance } from './idempotency.js';

const client = createTestRedis();

describeRedisIdempotencyConformance('standalone Redis', () => ({ client, raw: client }));
