/** Express + apicache 1.6 (memory store): the hit path of the most used Express response cache. */
import { createServer } from 'node:http';
import apicache from 'apicache';
import express from 'express';
import { announce } from './support/announce.js';
import { loadCatalogue } from './support/catalogue.js';

const cache = apicache.newInstance({ defaultDuration: '10 minutes' }).middleware;
const app = express();
app.get('/catalogue', cache(), async (_req, res) => {
  res.json(await loadCatalogue());
});

await announce(createServer(app));
