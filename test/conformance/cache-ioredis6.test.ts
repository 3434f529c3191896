import { createTestRedis } from '../support/index.js';
import { createTestIoredis6 } from '../support/ioredis-matrix.js';
import { describeRedisCacheConformance } from './cache.js';

// The client's own defaults: the cache bypasses Redis past its deadline either way.
const client = await createTestIoredis6();
const raw = createTestRedis();

describeRedisCacheConformance('ioredis 6', () => ({ client, raw }));
