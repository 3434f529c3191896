/**
 * Real Express and Koa apps for the response-cache scenarios, built from one framework-neutral
 * handler description, so every scenario runs unchanged against both frameworks.
 */
import type { Server as HttpServer } from 'node:http';
import { createServer, get } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ResponseCacheOptions } from '@keel/cache';
import * as keelExpress from '@keel/express';
import * as keelKoa from '@keel/koa';
import express from 'express';
import Koa from 'koa';
import type request from 'supertest';
import { pinHost } from '../support/pin-host.js';

/** What a handler answers, in framework-neutral terms. */
export interface Out {
  status?: number;
  json?: unknown;
  bytes?: Buffer;
  text?: string;
  type?: string;
  headers?: Record<string, string>;
  /** A `Set-Cookie` value. */
  cookie?: string;
  /** Throw instead of answering (Express: `next(err)`; Koa: throw). */
  throws?: boolean;
}

export interface In {
  method: string;
  path: string;
  query: string;
  headers: Record<string, string | string[] | undefined>;
}

export type Handler = (input: In) => Out | Promise<Out>;
export type Server = Parameters<typeof request>[0];
export type AppFactory = (options: ResponseCacheOptions, handler: Handler) => Server;

function queryOf(url: string): string {
  const i = url.indexOf('?');
  return i === -1 ? '' : url.slice(i + 1);
}

export const expressApp: AppFactory = (options, handler) => {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  const cache = keelExpress.responseCache(options as ResponseCacheOptions<express.Request>);
  app.all('/{*rest}', cache, async (req, res, next) => {
    try {
      const out = await handler({
        method: req.method,
        path: req.path,
        query: queryOf(req.originalUrl),
        headers: req.headers,
      });
      if (out.throws) throw new Error('handler failed');
      res.status(out.status ?? 200).set(out.headers ?? {});
      if (out.cookie) res.cookie('sid', out.cookie);
      if (out.type) res.type(out.type);
      if (out.json !== undefined) res.json(out.json);
      else if (out.bytes) res.send(out.bytes);
      else if (out.text !== undefined) res.send(out.text);
      else res.end();
    } catch (error) {
      next(error);
    }
  });
  app.use(
    (
      _error: unknown,
      _req: express.Request,
      res: express.Response,
      _next: express.NextFunction,
    ) => {
      res.status(500).json({ error: 'internal' });
    },
  );
  // One Host for every supertest request (each starts its own server): the key includes it.
  return pinHost(app);
};

export const koaApp: AppFactory = (options, handler) => {
  const app = new Koa();
  app.silent = true;
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch {
      ctx.status = 500;
      ctx.body = { error: 'internal' };
    }
  });
  app.use(keelKoa.responseCache(options as ResponseCacheOptions<Koa.Context>));
  app.use(async (ctx) => {
    const out = await handler({
      method: ctx.method,
      path: ctx.path,
      query: ctx.querystring,
      headers: ctx.headers,
    });
    if (out.throws) throw new Error('handler failed');
    ctx.status = out.status ?? 200;
    ctx.set(out.headers ?? {});
    if (out.cookie) ctx.cookies.set('sid', out.cookie, { signed: false });
    if (out.type) ctx.type = out.type;
    if (out.json !== undefined) ctx.body = out.json;
    else if (out.bytes) ctx.body = out.bytes;
    else if (out.text !== undefined) ctx.body = out.text;
    else ctx.body = null;
    if (out.status !== undefined) ctx.status = out.status;
  });
  return pinHost(app.callback());
};

export const frameworks: [string, AppFactory][] = [
  ['express', expressApp],
  ['koa', koaApp],
];

/** A listening server for many concurrent requests (supertest starts one per request). */
export async function listen(
  app: Server,
): Promise<{ url: string; received(): number; close(): Promise<void> }> {
  const server: HttpServer = createServer(app as never);
  // Requests the server has taken in: a test that lets concurrent requests gather waits for
  // them all to arrive, however slow the machine, rather than for a fixed time.
  let received = 0;
  server.on('request', () => received++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received: () => received,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Wait (bounded) until `check` passes. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  ms = 3_000,
): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A promise released by hand: holds a handler open while the test acts. */
export function gate() {
  let release!: () => void;
  const opened = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { opened, release };
}

/** GET with Node's http client: no decompression, the body exactly as sent. */
export function rawGet(
  url: string,
  headers: Record<string, string> = {},
): Promise<{
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}> {
  return new Promise((resolve, reject) => {
    get(url, { headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on('error', reject);
    }).on('error', reject);
  });
}
