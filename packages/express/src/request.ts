/**
 * Express request → KeelRequest. The one place that knows where Express keeps things.
 */
import type { KeelRequest } from '@keel/core';
import type { Request } from 'express';

export function toKeelRequest(req: Request): KeelRequest<Request> {
  const url = req.originalUrl ?? req.url;
  const queryStart = url.indexOf('?');
  const parsed = 'body' in req; // body-parser 2 defines req.body whenever a parser ran
  const body: unknown = req.body;
  const raw = (req as Request & { rawBody?: unknown }).rawBody;
  return {
    method: req.method,
    path: queryStart === -1 ? url : url.slice(0, queryStart),
    route: req.route ? `${req.baseUrl}${String(req.route.path)}` : undefined,
    search: queryStart === -1 ? '' : url.slice(queryStart + 1),
    headers: req.headers,
    remoteAddress: req.socket?.remoteAddress,
    body,
    // express.raw() leaves a Buffer in req.body; a verify() hook may keep req.rawBody.
    rawBody: Buffer.isBuffer(body) ? body : Buffer.isBuffer(raw) ? raw : undefined,
    bodyParsed: parsed,
    raw: req,
  };
}
