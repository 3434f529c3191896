import { createTestRedis } from '../support/index.js';
import { createTestIoredis6 } from '../support/ioredis-matrix.js';
import { describeRedisSessionConformance } from './session.js';

const client = await createTestIoredis6();
const raw = createTestRedis();

describeRedisSessionConformance(
  'ioredis 6',
  () => client,
  () => raw,
);
