/** Bare Express 5: the floor every Express row is compared with. */
import { createServer } from 'node:http';
import express from 'express';
import { announce } from './support/announce.js';

const app = express();
app.get('/', (_req, res) => {
  res.json({ ok: true, service: 'bench', items: [1, 2, 3] });
});

await announce(createServer(app));
