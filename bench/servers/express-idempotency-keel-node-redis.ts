/**
 * Keel's `idempotency()` on Redis through a node-redis 5 client instead of ioredis: the same
 * client family as @node-idempotency's row (node-redis 4), so the two compare middleware with
 * middleware. node-redis writes the commands of one tick in one system call where ioredis
 * writes each on its own (see bench/client-driver-cost.ts). Records live under `keel-bench:`
 * for one minute.
 */
import { createServer } from 'node:http';
import { createRedisIdempotencyStore } from '@keel/idempotency';
import { createClient } from 'redis-5';
import { announce, benchRedisUrl } from './support/announce.js';
import { keelOrdersApp } from './support/orders.js';

const redis = createClient({ url: benchRedisUrl() });
redis.on('error', () => {}); // the runner stops Redis at the end
await redis.connect();
const store = createRedisIdempotencyStore({ client: redis, prefix: 'keel-bench:' });

await announce(createServer(keelOrdersApp(store)), () => redis.quit());
