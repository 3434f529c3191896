import { createTestRedis } from '../support/index.js';
import { createTestIovalkey } from '../support/ioredis-matrix.js';
import { describeRedisSessionConformance } from './session.js';

const client = await createTestIovalkey();
const raw = createTestRedis();

describeRedisSessionConformance(
  'iovalkey',
  () => client,
  () => raw,
);
