/**
 * Response capture and replay for Express, shared by idempotency and caching.
 *
 * Capture wraps `res.write`/`res.end` to keep a copy of the bytes as they go out (the client is
 * never delayed), up to `maxBytes`; past that it keeps counting but stops copying.
 */
import { type CaptureResult, concatExact, type KeelResponse, normalizeHeaders } from '@keel/core';
import type { Response } from 'express';

type Chunk = string | Uint8Array;
type WriteCallback = (error?: Error | null) => void;

function toBuffer(chunk: Chunk, encoding: unknown): Buffer {
  if (typeof chunk === 'string') {
    return Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  }
  if (Buffer.isBuffer(chunk)) return chunk;
  return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

export interface CaptureOptions {
  /** Largest body kept, in bytes; larger bodies are still sent, but reported as too large. */
  maxBytes: number;
  /**
   * Called with the captured result when the handler ends the response, before the last bytes
   * go out; the end waits for it (a rejection is ignored). Idempotency stores the response here,
   * so a client never holds a response whose record is not yet completed. The promise of
   * `captureResponse` then resolves with this same result once the response has finished.
   */
  beforeEnd?: (result: CaptureResult) => unknown;
}

/** One capture's state: the copied chunks (up to maxBytes) and the count of all bytes. */
interface Capture {
  readonly res: Response;
  readonly maxBytes: number;
  readonly chunks: Buffer[];
  bytes: number;
  /** What `beforeEnd` was given, once the handler ended the response. */
  ended: CaptureResult | undefined;
}

function keep(capture: Capture, chunk: Chunk | undefined, encoding: unknown): void {
  if (chunk === undefined || chunk === null || typeof chunk === 'function') return;
  const buffer = toBuffer(chunk, encoding);
  capture.bytes += buffer.length;
  if (capture.bytes <= capture.maxBytes) capture.chunks.push(buffer);
}

function current(capture: Capture): CaptureResult {
  const { res, bytes } = capture;
  const headers = normalizeHeaders(res.getHeaders());
  return bytes > capture.maxBytes
    ? { kind: 'too-large', status: res.statusCode, headers, bytes }
    : {
        kind: 'complete',
        // Exact-size memory of its own: a small body joined by Buffer.concat is a slice of a
        // pooled 8 KiB slab, which a store keeping it would keep whole.
        response: { status: res.statusCode, headers, body: concatExact(capture.chunks, bytes) },
      };
}

/** Let `beforeEnd` settle (a microtask later, as the handler's own code runs on), then end. */
async function endAfter(
  beforeEnd: (result: CaptureResult) => unknown,
  result: CaptureResult,
  res: Response,
  end: (...args: unknown[]) => unknown,
  args: unknown[],
): Promise<void> {
  await undefined;
  try {
    await beforeEnd(result);
  } catch {
    // The response goes out regardless; the hook reports its own failures.
  }
  end.apply(res, args);
}

/** Start capturing `res`; resolves once the response has finished or the connection closed. */
export function captureResponse(res: Response, options: CaptureOptions): Promise<CaptureResult> {
  const capture: Capture = {
    res,
    maxBytes: options.maxBytes,
    chunks: [],
    bytes: 0,
    ended: undefined,
  };
  const { beforeEnd } = options;
  const write = res.write as (...args: unknown[]) => boolean;
  const end = res.end as (...args: unknown[]) => unknown;
  res.write = function captureWrite(this: Response, chunk: Chunk, ...rest: unknown[]) {
    keep(capture, chunk, rest[0]);
    return write.call(this, chunk, ...rest);
  } as Response['write'];
  res.end = function captureEnd(this: Response, ...args: unknown[]) {
    const chunk = args[0] as Chunk | WriteCallback | undefined;
    if (typeof chunk !== 'function') keep(capture, chunk, args[1]);
    if (!beforeEnd || capture.ended) return end.apply(this, args);
    capture.ended = current(capture);
    void endAfter(beforeEnd, capture.ended, this, end, args);
    return this;
  } as Response['end'];

  return new Promise((resolve) => {
    const finish = () => {
      cleanup();
      // Ended through beforeEnd: nothing can be added after end(), so that result stands.
      resolve(capture.ended ?? current(capture));
    };
    const close = () => {
      cleanup();
      resolve({ kind: 'aborted', status: res.statusCode });
    };
    const cleanup = () => {
      res.off('finish', finish);
      res.off('close', close);
      res.write = write as Response['write'];
      res.end = end as Response['end'];
    };
    res.on('finish', finish);
    res.on('close', close);
  });
}

/** Answer with a response Keel decided on (a rejection, a replay, a cache hit). */
export function sendResponse(res: Response, response: KeelResponse): void {
  res.status(response.status);
  for (const [name, value] of Object.entries(response.headers)) res.setHeader(name, value);
  res.end(Buffer.from(response.body.buffer, response.body.byteOffset, response.body.byteLength));
}

/** Set headers (e.g. RateLimit) on a response that the handler will go on to write. */
export function setHeaders(res: Response, headers: KeelResponse['headers']): void {
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
}
