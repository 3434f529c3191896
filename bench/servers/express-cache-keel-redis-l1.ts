/** Express + Keel's responseCache() on Redis with the in-process L1 (hits answered without a round trip): the hit path (the entry stays fresh all run). */
import { createServer } from 'node:http';
import { createCache } from '@keel/cache';
import { createRedisClient } from '@keel/core';
import { responseCache } from '@keel/express';
import express from 'express';
import { announce, benchRedisUrl } from './support/announce.js';
import { CACHE_TTL_MS, loadCatalogue } from './support/catalogue.js';

const redis = createRedisClient(benchRedisUrl());
await new Promise((resolve) =>
  redis.status === 'ready' ? resolve(null) : redis.once('ready', resolve),
);
const cache = createCache({ client: redis, prefix: 'keel-bench:', l1: true });
await cache.ready();
const app = express();
app.get('/catalogue', responseCache({ cache, ttlMs: CACHE_TTL_MS }), async (_req, res) => {
  res.json(await loadCatalogue());
});

await announce(createServer(app), async () => {
  await cache.close();
  await redis.quit();
});
