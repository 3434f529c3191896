import { createTestRedis } from '../support/index.js';
import { describeRedisRateLimitConformance } from './rate-limit.js';

const client = createTestRedis();

describeRedisRateLimitConformance('standalone Redis', () => ({ client, raw: client }));
