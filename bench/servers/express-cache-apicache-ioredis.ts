/**
 * Express + apicache 1.6 given an ioredis client. apicache checks `redisClient.connected`, a
 * node-redis v3 property ioredis does not have, so it silently never stores nor reads: every
 * request pays the origin (`ORIGIN_MS`). The response header `x-origin-calls` shows it.
 */
import { createServer } from 'node:http';
import apicache from 'apicache';
import express from 'express';
import { Redis } from 'ioredis';
import { announce, benchRedisUrl } from './support/announce.js';
import { loadCatalogue } from './support/catalogue.js';

const client = new Redis(benchRedisUrl(), { keyPrefix: 'keel-bench:apicache-io:' });
client.on('error', (error) => console.error('[apicache-ioredis] redis:', error.message));
const cache = apicache.newInstance({
  defaultDuration: '10 minutes',
  redisClient: client as never,
}).middleware;
let originCalls = 0;
const app = express();
app.get('/catalogue', cache(), async (_req, res) => {
  res.setHeader('x-origin-calls', String(++originCalls));
  res.json(await loadCatalogue());
});

await announce(createServer(app), () => client.quit());
