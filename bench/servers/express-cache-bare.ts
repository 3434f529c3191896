/** Bare Express serving the catalogue body with no origin cost: the floor of every cache row. */
import { createServer } from 'node:http';
import express from 'express';
import { announce } from './support/announce.js';
import { CATALOGUE } from './support/catalogue.js';

const app = express();
app.get('/catalogue', (_req, res) => {
  res.json(CATALOGUE);
});

await announce(createServer(app));
