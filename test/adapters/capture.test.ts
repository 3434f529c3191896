/**
 * Response capture and replay, one scenario list run against real Express and Koa apps: what
 * the client received must be exactly what was captured, and a replay must reproduce it.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { type CaptureResult, type KeelResponse, pickHeaders } from '@keel/core';
import * as keelExpress from '@keel/express';
import * as keelKoa from '@keel/koa';
import express from 'express';
import Koa from 'koa';
import request from 'supertest';
import { describe, expect, it } from 'vitest';

/** What a handler does, in framework-neutral terms. */
type Produce =
  | { kind: 'json'; status: number; value: unknown; headers?: Record<string, string> }
  | { kind: 'bytes'; status: number; value: Buffer; type: string; headers?: Record<string, string> }
  | { kind: 'text'; status: number; value: string }
  | { kind: 'stream'; status: number; chunks: Buffer[]; type: string }
  | { kind: 'empty'; status: number };

type Harness = (
  produce: Produce,
  maxBytes: number,
) => { server: Parameters<typeof request>[0]; captured: Promise<CaptureResult> };

const expressHarness: Harness = (produce, maxBytes) => {
  let resolve!: (r: CaptureResult) => void;
  const captured = new Promise<CaptureResult>((r) => {
    resolve = r;
  });
  const app = express();
  app.use((_req, res, next) => {
    keelExpress.captureResponse(res, { maxBytes }).then(resolve);
    next();
  });
  app.all('/', (_req, res) => {
    res.status(produce.status);
    switch (produce.kind) {
      case 'json':
        res.set(produce.headers ?? {}).json(produce.value);
        return;
      case 'bytes':
        res
          .set(produce.headers ?? {})
          .type(produce.type)
          .send(produce.value);
        return;
      case 'text':
        res.type('text/plain').send(produce.value);
        return;
      case 'stream':
        res.type(produce.type);
        Readable.from(produce.chunks).pipe(res);
        return;
      case 'empty':
        res.end();
    }
  });
  return { server: app, captured };
};

const koaHarness: Harness = (produce, maxBytes) => {
  let resolve!: (r: CaptureResult) => void;
  const captured = new Promise<CaptureResult>((r) => {
    resolve = r;
  });
  const app = new Koa();
  app.use(async (ctx, next) => {
    await next();
    keelKoa.captureResponse(ctx, { maxBytes }).then(resolve);
  });
  app.use((ctx) => {
    ctx.status = produce.status;
    switch (produce.kind) {
      case 'json':
        ctx.set(produce.headers ?? {});
        ctx.body = produce.value;
        return;
      case 'bytes':
        ctx.set(produce.headers ?? {});
        ctx.type = produce.type;
        ctx.body = produce.value;
        return;
      case 'text':
        ctx.type = 'text/plain';
        ctx.body = produce.value;
        return;
      case 'stream':
        ctx.type = produce.type;
        ctx.body = Readable.from(produce.chunks);
        return;
      case 'empty':
        ctx.body = null;
        ctx.status = produce.status;
    }
  });
  return { server: app.callback(), captured };
};

function complete(result: CaptureResult): KeelResponse {
  expect(result.kind).toBe('complete');
  return (result as { response: KeelResponse }).response;
}

describe.each([
  ['express', expressHarness],
  ['koa', koaHarness],
])('%s response capture', (_name, harness) => {
  it('captures a JSON body, status and headers exactly as sent', async () => {
    const { server, captured } = harness(
      { kind: 'json', status: 201, value: { id: 7, é: 'ü' }, headers: { Location: '/orders/7' } },
      1024,
    );
    const res = await request(server).post('/').expect(201);
    const response = complete(await captured);
    expect(response.status).toBe(201);
    expect(Buffer.from(response.body).toString()).toBe(res.text);
    expect(JSON.parse(Buffer.from(response.body).toString())).toEqual({ id: 7, é: 'ü' });
    expect(response.headers.location).toBe('/orders/7');
    expect(response.headers['content-type']).toMatch(/^application\/json/);
  });

  it('captures binary bytes byte-identically', async () => {
    const bytes = randomBytes(5000);
    const { server, captured } = harness(
      {
        kind: 'bytes',
        status: 200,
        value: bytes,
        type: 'image/png',
        headers: { 'Content-Encoding': 'x-opaque' },
      },
      10_000,
    );
    await request(server)
      .get('/')
      .buffer(true)
      .parse((res, cb) => {
        res.on('data', () => {});
        res.on('end', () => cb(null, null));
      });
    const response = complete(await captured);
    expect(Buffer.compare(Buffer.from(response.body), bytes)).toBe(0);
    expect(response.headers['content-encoding']).toBe('x-opaque');
  });

  it('captures a streamed body as it flows to the client', async () => {
    const chunks = [Buffer.from('alpha,'), Buffer.from('beta,'), Buffer.from('gamma')];
    const { server, captured } = harness(
      { kind: 'stream', status: 200, chunks, type: 'text/csv' },
      1024,
    );
    const res = await request(server).get('/').expect(200);
    expect(res.text).toBe('alpha,beta,gamma');
    expect(Buffer.from(complete(await captured).body).toString()).toBe('alpha,beta,gamma');
  });

  it('reports a body over maxBytes as too large, while the client still gets all of it', async () => {
    const { server, captured } = harness(
      { kind: 'text', status: 200, value: 'x'.repeat(2000) },
      100,
    );
    const res = await request(server).get('/').expect(200);
    expect(res.text).toHaveLength(2000);
    const result = await captured;
    expect(result).toMatchObject({ kind: 'too-large', status: 200, bytes: 2000 });
  });

  it('captures an empty 204', async () => {
    const { server, captured } = harness({ kind: 'empty', status: 204 }, 100);
    await request(server).delete('/').expect(204);
    const response = complete(await captured);
    expect(response.status).toBe(204);
    expect(response.body.length).toBe(0);
  });
});

describe.each([
  [
    'express',
    (response: KeelResponse) => {
      const app = express();
      app.use((_req, res) => keelExpress.sendResponse(res, response));
      return app;
    },
  ],
  [
    'koa',
    (response: KeelResponse) => {
      const app = new Koa();
      app.use((ctx) => keelKoa.sendResponse(ctx, response));
      return app.callback();
    },
  ],
])('%s sendResponse', (_name, serve) => {
  it('replays status, headers and bytes', async () => {
    const body = randomBytes(300);
    const server = serve({
      status: 202,
      headers: { 'content-type': 'application/octet-stream', etag: '"abc"', 'x-extra': ['a', 'b'] },
      body,
    });
    const res = await request(server)
      .get('/')
      .buffer(true)
      .parse((r, cb) => {
        const parts: Buffer[] = [];
        r.on('data', (c: Buffer) => parts.push(c));
        r.on('end', () => cb(null, Buffer.concat(parts)));
      })
      .expect(202);
    expect(res.headers['content-type']).toBe('application/octet-stream');
    expect(res.headers.etag).toBe('"abc"');
    expect(res.headers['x-extra']).toBe('a, b');
    expect(Buffer.compare(res.body as Buffer, body)).toBe(0);
  });

  it('sends problem+json with its media type', async () => {
    const server = serve({
      status: 429,
      headers: { 'content-type': 'application/problem+json', 'retry-after': '2' },
      body: Buffer.from('{"status":429}'),
    });
    const res = await request(server).get('/').expect(429);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(res.headers['retry-after']).toBe('2');
  });
});

describe('pickHeaders', () => {
  it('never keeps Set-Cookie or hop-by-hop headers, even when allow-listed', () => {
    const picked = pickHeaders(
      {
        'content-type': 'text/plain',
        'set-cookie': ['sid=1'],
        connection: 'close',
        location: '/x',
        'x-private': 'no',
      },
      ['Content-Type', 'Set-Cookie', 'Connection', 'Location'],
    );
    expect(picked).toEqual({ 'content-type': 'text/plain', location: '/x' });
  });
});
