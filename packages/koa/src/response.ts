/**
 * Response capture and replay for Koa, shared by idempotency and caching.
 *
 * Call `captureResponse(ctx)` after `await next()`: Koa has not written anything yet, so the
 * body is read from `ctx.body` as Koa will send it — Buffers and strings as they are, objects as
 * Koa's own `JSON.stringify`, and streams through a tee that copies bytes as they flow to the
 * client (the promise then resolves when the stream ends).
 */
import { Readable, Transform } from 'node:stream';
import { type CaptureResult, type KeelResponse, normalizeHeaders } from '@keel/core';
import type { Context } from 'koa';

export interface CaptureOptions {
  /** Largest body kept, in bytes; larger bodies are still sent, but reported as too large. */
  maxBytes: number;
}

export function captureResponse(ctx: Context, options: CaptureOptions): Promise<CaptureResult> {
  const body: unknown = ctx.body;
  const result = (bytes: Buffer): CaptureResult => {
    const headers = normalizeHeaders(ctx.response.headers);
    if (bytes.length > options.maxBytes) {
      return { kind: 'too-large', status: ctx.status, headers, bytes: bytes.length };
    }
    return { kind: 'complete', response: { status: ctx.status, headers, body: bytes } };
  };
  if (body === null || body === undefined) return Promise.resolve(result(Buffer.alloc(0)));
  if (Buffer.isBuffer(body)) return Promise.resolve(result(body));
  if (typeof body === 'string') return Promise.resolve(result(Buffer.from(body)));
  if (body instanceof Readable) return captureStream(ctx, body, options);
  // Koa sends any other value as JSON (koa/lib/application.js `respond`).
  return Promise.resolve(result(Buffer.from(JSON.stringify(body))));
}

function captureStream(
  ctx: Context,
  source: Readable,
  options: CaptureOptions,
): Promise<CaptureResult> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  const tee = new Transform({
    transform(chunk: Buffer | string, _encoding, callback) {
      const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      bytes += buffer.length;
      if (bytes <= options.maxBytes) chunks.push(buffer);
      callback(null, buffer);
    },
  });
  return new Promise((resolve) => {
    // Setting ctx.body resets Content-Type/Length when it changes kind; keep the handler's.
    const type = ctx.response.get('Content-Type');
    const length = ctx.response.get('Content-Length');
    source.on('error', (error) => tee.destroy(error));
    ctx.body = source.pipe(tee);
    if (type) ctx.type = type;
    if (length) ctx.length = Number(length);
    tee.on('end', () => {
      const headers = normalizeHeaders(ctx.response.headers);
      resolve(
        bytes > options.maxBytes
          ? { kind: 'too-large', status: ctx.status, headers, bytes }
          : {
              kind: 'complete',
              response: { status: ctx.status, headers, body: Buffer.concat(chunks, bytes) },
            },
      );
    });
    tee.on('close', () => {
      if (!tee.readableEnded) resolve({ kind: 'aborted', status: ctx.status });
    });
  });
}

/** Answer with a response Keel decided on (a rejection, a replay, a cache hit). */
export function sendResponse(ctx: Context, response: KeelResponse): void {
  ctx.status = response.status;
  ctx.set(response.headers);
  const body = Buffer.from(
    response.body.buffer,
    response.body.byteOffset,
    response.body.byteLength,
  );
  // Koa keeps an explicit Content-Type when a Buffer body is set (it only defaults to binary).
  ctx.body = body;
}

/** Set headers (e.g. RateLimit) on a response the downstream handler will complete. */
export function setHeaders(ctx: Context, headers: KeelResponse['headers']): void {
  ctx.set(headers);
}
