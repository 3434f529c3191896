/**
 * Keel's `idempotency()` on Redis in front of the bench POST route: one EVALSHA to claim, the
 * handler, one EVALSHA to complete (2 round trips per first execution, 1 per replay). Records
 * live under `keel-bench:` for one minute.
 */
import { createServer } from 'node:http';
import { createRedisClient } from '@keel/core';
import { createRedisIdempotencyStore } from '@keel/idempotency';
import { announce, benchRedisUrl } from './support/announce.js';
import { keelOrdersApp } from './support/orders.js';

const redis = createRedisClient({ url: benchRedisUrl() });
const store = createRedisIdempotencyStore({ client: redis, prefix: 'keel-bench:' });

await announce(createServer(keelOrdersApp(store)), () => redis.quit());
