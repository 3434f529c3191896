import type { KeelRequest } from '@keel/core';
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import Koa, { type Context } from 'koa';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { toKeelRequest } from '../src/index.js';

describe('koa toKeelRequest', () => {
  it('fills method, path, search, headers, peer address and the router pattern', async () => {
    const seen: KeelRequest<Context>[] = [];
    const app = new Koa();
    const router = new Router({ prefix: '/api' });
    router.get('/orders/:id', (ctx) => {
      seen.push(toKeelRequest(ctx));
      ctx.status = 204;
    });
    app.use(router.routes());
    await request(app.callback()).get('/api/orders/42?b=2&a=1').set('X-Thing', 'yes').expect(204);
    const req = seen[0]!;
    expect(req.method).toBe('GET');
    expect(req.path).toBe('/api/orders/42');
    expect(req.route).toBe('/api/orders/:id');
    expect(req.search).toBe('b=2&a=1');
    expect(req.headers['x-thing']).toBe('yes');
    expect(req.remoteAddress).toMatch(/127\.0\.0\.1|::1/);
  });

  it('knows whether a body parser ran and keeps its raw body', async () => {
    const seen: KeelRequest<Context>[] = [];
    const parsed = new Koa();
    parsed.use(bodyParser());
    parsed.use((ctx) => {
      seen.push(toKeelRequest(ctx));
      ctx.status = 204;
    });
    const bare = new Koa();
    bare.use((ctx) => {
      seen.push(toKeelRequest(ctx));
      ctx.status = 204;
    });
    await request(parsed.callback()).post('/').send({ b: 1, a: 2 }).expect(204);
    await request(bare.callback()).post('/').send({ a: 1 }).expect(204);
    expect(seen[0]!.bodyParsed).toBe(true);
    expect(seen[0]!.body).toEqual({ b: 1, a: 2 });
    expect(Buffer.from(seen[0]!.rawBody!).toString()).toBe('{"b":1,"a":2}');
    expect(seen[1]!.bodyParsed).toBe(false);
    expect(seen[1]!.route).toBeUndefined();
  });
});
