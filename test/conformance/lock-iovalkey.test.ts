import { createTestRedis } from '../support/index.js';
import { createTestIovalkey } from '../support/ioredis-matrix.js';
import { describeRedisLockConformance } from './lock.js';

const client = await createTestIovalkey();
const raw = createTestRedis();

describeRedisLockConformance(
  'iovalkey',
  () => client,
  () => raw,
);
