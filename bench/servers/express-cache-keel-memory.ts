/** Express + Keel's responseCache() on the in-memory store: the hit path (the entry stays fresh all run). */
import { createServer } from 'node:http';
import { createCache } from '@keel/cache';

import { responseCache } from '@keel/express';
import express from 'express';
import { announce } from './support/announce.js';
import { CACHE_TTL_MS, loadCatalogue } from './support/catalogue.js';

const cache = createCache();
const app = express();
app.get('/catalogue', responseCache({ cache, ttlMs: CACHE_TTL_MS }), async (_req, res) => {
  res.json(await loadCatalogue());
});

await announce(createServer(app));
