import { createTestRedis } from '../support/index.js';
import { createTestIoredis6 } from '../support/ioredis-matrix.js';
import { describeRedisRateLimitConformance } from './rate-limit.js';

const client = await createTestIoredis6();
const raw = createTestRedis();

describeRedisRateLimitConformance('ioredis 6', () => ({ client, raw }));
