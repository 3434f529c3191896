/**
 * Express + apicache 1.6 on Redis through the client it was written for: node-redis v3
 * (callback API, `client.connected`). Hits are an HGETALL per request.
 */
import { createServer } from 'node:http';
import apicache from 'apicache';
import express from 'express';
import redis from 'redis';
import { announce, benchRedisUrl } from './support/announce.js';
import { loadCatalogue } from './support/catalogue.js';

const client = redis.createClient({ url: benchRedisUrl(), prefix: 'keel-bench:apicache:' });
client.on('error', (error: Error) => console.error('[apicache-redis] redis:', error.message));
await new Promise<void>((resolve) => client.once('ready', () => resolve()));
const cache = apicache.newInstance({
  defaultDuration: '10 minutes',
  redisClient: client,
}).middleware;
const app = express();
app.get('/catalogue', cache(), async (_req, res) => {
  res.json(await loadCatalogue());
});

await announce(createServer(app), () => new Promise((resolve) => client.quit(() => resolve(null))));
