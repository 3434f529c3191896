import { createTestRedis } from '../support/index.js';
import { createTestIovalkey } from '../support/ioredis-matrix.js';
import { describeRedisIdempotencyConformance } from './idempotency.js';

const client = await createTestIovalkey();
const raw = createTestRedis();

describeRedisIdempotencyConformance('iovalkey', () => ({ client, raw }));
