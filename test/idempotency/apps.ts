/**
 * Real Express and Koa apps for the idempotency scenarios, built from one framework-neutral
 * handler description, so every scenario runs unchanged against both frameworks.
 */
import { Readable } from 'node:stream';
import { createEvents, headerValue, type KeelEvent, type KeelRequest } from '@keel/core';
import * as keelExpress from '@keel/express';
import type { IdempotencyOptions } from '@keel/idempotency';
import * as keelKoa from '@keel/koa';
import { bodyParser } from '@koa/bodyparser';
import express from 'express';
import Koa from 'koa';
import type request from 'supertest';

/** What a handler answers, in framework-neutral terms. */
export interface Out {
  status: number;
  json?: unknown;
  bytes?: Buffer;
  text?: string;
  /** Body sent as a stream of these chunks. */
  stream?: Buffer[];
  type?: string;
  headers?: Record<string, string>;
  /** A `Set-Cookie` value. */
  cookie?: string;
}

export interface In {
  method: string;
  path: string;
  body: unknown;
  user: string | undefined;
}

/** A handler: may block, may throw. */
export type Handler = (input: In) => Out | Promise<Out>;

export type Server = Parameters<typeof request>[0];

/** Options as the scenarios pass them: scope defaults to the `x-user` header. */
export type ScenarioOptions = Omit<IdempotencyOptions, 'scope'> & {
  scope?: IdempotencyOptions['scope'];
};

export type AppFactory = (options: ScenarioOptions, handler: Handler) => Server;

const userScope = (req: KeelRequest) => headerValue(req.headers, 'x-user') ?? 'anonymous';

export const expressApp: AppFactory = (options, handler) => {
  const app = express();
  app.use(express.json());
  app.use(keelExpress.idempotency({ scope: userScope, ...options }));
  app.all('/orders', async (req, res, next) => {
    try {
      const out = await handler({
        method: req.method,
        path: req.path,
        body: req.body,
        user: req.get('x-user'),
      });
      res.status(out.status).set(out.headers ?? {});
      if (out.cookie) res.cookie('sid', out.cookie);
      if (out.type) res.type(out.type);
      if (out.stream) {
        Readable.from(out.stream).pipe(res);
        return;
      }
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
      res.status(500).json({ error: 'handler failed' });
    },
  );
  return app;
};

export const koaApp: AppFactory = (options, handler) => {
  const app = new Koa();
  app.silent = true;
  app.use(bodyParser());
  app.use(keelKoa.idempotency({ scope: userScope, ...options }));
  app.use(async (ctx) => {
    if (ctx.path !== '/orders') return;
    const out = await handler({
      method: ctx.method,
      path: ctx.path,
      body: (ctx.request as { body?: unknown }).body,
      user: ctx.get('x-user') || undefined,
    });
    ctx.status = out.status;
    ctx.set(out.headers ?? {});
    if (out.cookie) ctx.cookies.set('sid', out.cookie);
    if (out.type) ctx.type = out.type;
    if (out.stream) ctx.body = Readable.from(out.stream);
    else if (out.json !== undefined) ctx.body = out.json;
    else if (out.bytes) ctx.body = out.bytes;
    else if (out.text !== undefined) ctx.body = out.text;
    else ctx.body = null;
    // ctx.body = null resets the status to 204; keep the handler's.
    ctx.status = out.status;
  });
  return app.callback();
};

export const frameworks: [string, AppFactory][] = [
  ['express', expressApp],
  ['koa', koaApp],
];

/** A promise with its resolver, for handlers that block until the test lets them go. */
export function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Collects events; `next(name)` resolves on the next event of that name. */
export function eventLog() {
  const seen: KeelEvent[] = [];
  const waiters: { name: string; resolve: (e: KeelEvent) => void }[] = [];
  const events = createEvents((event) => {
    seen.push(event);
    for (const waiter of waiters.filter((w) => w.name === event.name)) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve(event);
    }
  });
  return {
    events,
    seen,
    names: () => seen.map((e) => e.name),
    next: (name: string) => new Promise<KeelEvent>((resolve) => waiters.push({ name, resolve })),
  };
}

/** supertest parser that keeps the body as bytes, whatever its media type. */
export function binary(
  res: { on(event: string, listener: (chunk: Buffer) => void): unknown },
  callback: (error: Error | null, body: Buffer) => void,
): void {
  const parts: Buffer[] = [];
  res.on('data', (chunk: Buffer) => parts.push(chunk));
  res.on('end', () => callback(null, Buffer.concat(parts)));
}
