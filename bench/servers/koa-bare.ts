/** Bare Koa 3: the floor every Koa row is compared with. */
import { createServer } from 'node:http';
import Koa from 'koa';
import { announce } from './support/announce.js';

const app = new Koa();
app.use((ctx) => {
  if (ctx.method === 'GET' && ctx.path === '/') {
    ctx.body = { ok: true, service: 'bench', items: [1, 2, 3] };
  }
});

await announce(createServer(app.callback()));
