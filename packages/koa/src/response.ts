/**
 * Response capture and replay for Koa, shared by idempotency and caching.
 *
 * Call `captureResponse(ctx)` after `await next()`: Koa has not written anything yet, so the
 * body is read from `ctx.body` as Koa will send it — Buffers and strings as they are, objects as
 * Koa's own `JSON.stringify`, and streams through a tee that copies bytes as they flow to the
 * client (the promise then resolves when the stream ends).
 */
import { Readable, Transform } from 'node:stream';
import {
  type CaptureResult,
  concatExact,
  exactUtf8,
  type KeelResponse,
  normalizeHeaders,
} from '@keel/core';
import type { Context } from 'koa';

export interface CaptureOptions {
  /** Largest body kept, in bytes; larger bodies are still sent, but reported as too large. */
  maxBytes: number;
  /**
   * Called with the captured result before the response is finished: for a Buffer, string or
   * JSON body the returned promise resolves only after it; for a stream, the stream's end is held
   * back until it settles (a rejection is ignored). Idempotency stores the response here, so a
   * client never holds a response whose record is not yet completed.
   */
  beforeEnd?: (result: CaptureResult) => unknown;
}

export function captureResponse(ctx: Context, options: CaptureOptions): Promise<CaptureResult> {
  const body: unknown = ctx.body;
  const result = (bytes: Buffer): Promise<CaptureResult> => {
    const headers = normalizeHeaders(ctx.response.headers);
    const captured: CaptureResult =
      bytes.length > options.maxBytes
        ? { kind: 'too-large', status: ctx.status, headers, bytes: bytes.length }
        : { kind: 'complete', response: { status: ctx.status, headers, body: bytes } };
    return awaitBeforeEnd(options, captured);
  };
  if (body === null || body === undefined) return result(Buffer.alloc(0));
  if (Buffer.isBuffer(body)) return result(body);
  // Text is encoded into exact-size memory of its own (Buffer.from would hand a small body a
  // slice of a pooled 8 KiB slab, which a store keeping it would keep whole).
  if (typeof body === 'string') return result(exactUtf8(body));
  if (body instanceof Readable) return captureStream(ctx, body, options);
  // Koa sends any other value as JSON (koa/lib/application.js `respond`).
  return result(exactUtf8(JSON.stringify(body)));
}

/** Run `beforeEnd` (if any), then hand back the result; a rejection is ignored. */
async function awaitBeforeEnd(
  options: CaptureOptions,
  captured: CaptureResult,
): Promise<CaptureResult> {
  if (options.beforeEnd) {
    try {
      await options.beforeEnd(captured);
    } catch {
      // The response goes out regardless; the hook reports its own failures.
    }
  }
  return captured;
}

function captureStream(
  ctx: Context,
  source: Readable,
  options: CaptureOptions,
): Promise<CaptureResult> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  const current = (): CaptureResult => {
    const headers = normalizeHeaders(ctx.response.headers);
    return bytes > options.maxBytes
      ? { kind: 'too-large', status: ctx.status, headers, bytes }
      : {
          kind: 'complete',
          response: { status: ctx.status, headers, body: concatExact(chunks, bytes) },
        };
  };
  const tee = new Transform({
    transform(chunk: Buffer | string, _encoding, callback) {
      const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      bytes += buffer.length;
      if (bytes <= options.maxBytes) chunks.push(buffer);
      callback(null, buffer);
    },
    // The source ended: hold the end of the response until beforeEnd has settled.
    flush(callback) {
      void awaitBeforeEnd(options, current()).then(() => callback());
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
    tee.on('end', () => resolve(current()));
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
