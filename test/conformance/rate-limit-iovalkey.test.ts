import { createTestRedis } from '../support/index.js';
import { createTestIovalkey } from '../support/ioredis-matrix.js';
import { describeRedisRateLimitConformance } from './rate-limit.js';

const client = await createTestIovalkey();
const raw = createTestRedis();

describeRedisRateLimitConformance('iovalkey', () => ({ client, raw }));
