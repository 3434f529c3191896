/**
 * Response capture and replay for Express, shared by idempotency and caching.
 *
 * Capture wraps `res.write`/`res.end` to keep a copy of the bytes as they go out (the client is
 * never delayed), up to `maxBytes`; past that it keeps counting but stops copying.
 */
import { type CaptureResult, type KeelResponse, normalizeHeaders } from '@keel/core';
import type { Response } from 'express';

type Chunk = string | Uint8Array;
type WriteCallback = (error?: Error | null) => void;

function toBuffer(chunk: Chunk, encoding: unknown): Buffer {
  if (typeof chunk === 'string') {
    return Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  }
  return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

export interface CaptureOptions {
  /** Largest body kept, in bytes; larger bodies are still sent, but reported as too large. */
  maxBytes: number;
  /**
   * Called with the captured result when the handler ends the response, before the last bytes
   * go out; the end waits for it (a rejection is ignored). Idempotency stores the response here,
   * so a client never holds a response whose record is not yet completed.
   */
  beforeEnd?: (result: CaptureResult) => unknown;
}

/** Start capturing `res`; resolves once the response has finished or the connection closed. */
export function captureResponse(res: Response, options: CaptureOptions): Promise<CaptureResult> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  const keep = (chunk: Chunk | undefined, encoding: unknown) => {
    if (chunk === undefined || chunk === null || typeof chunk === 'function') return;
    const buffer = toBuffer(chunk, encoding);
    bytes += buffer.length;
    if (bytes <= options.maxBytes) chunks.push(buffer);
  };

  const write = res.write;
  const end = res.end;
  res.write = function captureWrite(this: Response, chunk: Chunk, ...rest: unknown[]) {
    keep(chunk, rest[0]);
    return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
  } as Response['write'];
  const current = (): CaptureResult => {
    const headers = normalizeHeaders(res.getHeaders());
    return bytes > options.maxBytes
      ? { kind: 'too-large', status: res.statusCode, headers, bytes }
      : {
          kind: 'complete',
          response: { status: res.statusCode, headers, body: Buffer.concat(chunks, bytes) },
        };
  };
  let ending = false;
  res.end = function captureEnd(this: Response, chunk?: Chunk | WriteCallback, ...rest: unknown[]) {
    if (typeof chunk !== 'function') keep(chunk, rest[0]);
    const send = () => (end as (...args: unknown[]) => Response).call(this, chunk, ...rest);
    const beforeEnd = options.beforeEnd;
    if (!beforeEnd || ending) return send();
    ending = true;
    const result = current();
    Promise.resolve()
      .then(() => beforeEnd(result))
      .then(send, send);
    return this;
  } as Response['end'];

  return new Promise((resolve) => {
    const finish = () => {
      cleanup();
      resolve(current());
    };
    const close = () => {
      cleanup();
      resolve({ kind: 'aborted', status: res.statusCode });
    };
    const cleanup = () => {
      res.off('finish', finish);
      res.off('close', close);
      res.write = write;
      res.end = end;
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
