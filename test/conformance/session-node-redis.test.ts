import { createTestRedis } from '../support/index.js';
import { createTestNodeRedis } from '../support/node-redis.js';
import { describeRedisSessionConformance } from './session.js';

const client = await createTestNodeRedis();
const raw = createTestRedis();

describeRedisSessionConformance(
  'node-redis',
  () => client,
  () => raw,
);
