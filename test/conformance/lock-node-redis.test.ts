import { createTestRedis } from '../support/index.js';
import { createTestNodeRedis } from '../support/node-redis.js';
import { describeRedisLockConformance } from './lock.js';

const client = await createTestNodeRedis();
const raw = createTestRedis();

describeRedisLockConformance(
  'node-redis',
  () => client,
  () => raw,
);
