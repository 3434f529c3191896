import { createTestRedis } from '../support/index.js';
import { describeRedisCacheConformance } from './cache.js';

const client = createTestRedis({ enableOfflineQueue: false });

describeRedisCacheConformance('standalone Redis', async () => {
  // No offline queue (as createRedisClient): wait for the connection before the first test.
  if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
  return { client, raw: client };
});
