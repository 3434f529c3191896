import { createTestRedis } from '../support/index.js';
import { describeRedisSessionConformance } from './session.js';

const client = createTestRedis();

describeRedisSessionConformance(
  'standalone Redis',
  () => client,
  () => client,
);
