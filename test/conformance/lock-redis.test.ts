import { createTestRedis } from '../support/index.js';
import { describeRedisLockConformance } from './lock.js';

const client = createTestRedis();

describeRedisLockConformance(
  'standalone Redis',
  () => client,
  () => client,
);
