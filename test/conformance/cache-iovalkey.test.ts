import { createTestRedis } from '../support/index.js';
import { createTestIovalkey } from '../support/ioredis-matrix.js';
import { describeRedisCacheConformance } from './cache.js';

// The client's own defaults: the cache bypasses Redis past its deadline either way.
const client = await createTestIovalkey();
const raw = createTestRedis();

describeRedisCacheConformance('iovalkey', () => ({ client, raw }));
