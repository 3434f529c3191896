import { createTestRedis } from '../support/index.js';
import { createTestIoredis6 } from '../support/ioredis-matrix.js';
import { describeRedisIdempotencyConformance } from './idempotency.js';

const client = await createTestIoredis6();
const raw = createTestRedis();

describeRedisIdempotencyConformance('ioredis 6', () => ({ client, raw }));
