import { createTestRedis } from '../support/index.js';
import { createTestIoredis6 } from '../support/ioredis-matrix.js';
import { describeRedisLockConformance } from './lock.js';

const client = await createTestIoredis6();
const raw = createTestRedis();

describeRedisLockConformance(
  'ioredis 6',
  () => client,
  () => raw,
);
