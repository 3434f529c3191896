/**
 * Request fingerprints: two requests with the same key must be the same request, or the second
 * gets 422. The default fingerprint is SHA-256 over the method, the path, the canonical query,
 * chosen headers and the body — canonical JSON (key order does not matter) for parsed bodies,
 * the raw bytes otherwise. Each part is length-prefixed, so no two different requests can
 * produce the same byte stream.
 */
import crypto, { createHash } from 'node:crypto';
import { canonicalQuery, headerValue, type KeelRequest } from '@keel/core';

/** What the fingerprint of a request is made of; `body` tells how its body was read. */
export type BodyForm = 'json' | 'bytes' | 'none';

/**
 * The body as fingerprinted: canonical JSON text for a parsed body (objects, arrays, numbers…)
 * or a JSON raw body, the bytes for a Buffer/string body or any other raw body, nothing when no
 * body parser ran and no raw bytes are known.
 */
export function bodyForFingerprint(req: KeelRequest): { form: BodyForm; bytes: Uint8Array } {
  const body = req.body;
  if (req.bodyParsed && body !== undefined) {
    if (body instanceof Uint8Array) return { form: 'bytes', bytes: body };
    if (typeof body === 'string') return { form: 'bytes', bytes: Buffer.from(body, 'utf8') };
    return { form: 'json', bytes: Buffer.from(canonicalJson(body), 'utf8') };
  }
  if (req.rawBody !== undefined) {
    if (/json/i.test(headerValue(req.headers, 'content-type') ?? '')) {
      try {
        const parsed: unknown = JSON.parse(Buffer.from(req.rawBody).toString('utf8'));
        return { form: 'json', bytes: Buffer.from(canonicalJson(parsed), 'utf8') };
      } catch {
        // Not JSON after all: fingerprint the bytes.
      }
    }
    return { form: 'bytes', bytes: req.rawBody };
  }
  return { form: 'none', bytes: new Uint8Array(0) };
}

/** The default fingerprint: base64url SHA-256 of method, path, query, `headers` and body. */
export function defaultFingerprint(req: KeelRequest, headers: readonly string[] = []): string {
  const parts: Uint8Array[] = [];
  const add = (value: string | Uint8Array) => {
    const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
    const length = Buffer.allocUnsafe(4);
    length.writeUInt32BE(bytes.length);
    parts.push(length, bytes);
  };
  add('keel-idempotency-fingerprint-v1');
  add(req.method.toUpperCase());
  add(req.path);
  add(canonicalQuery(req.search));
  for (const name of headers) {
    const value = req.headers[name.toLowerCase()];
    add(name.toLowerCase());
    add(value === undefined ? '' : Array.isArray(value) ? value.join('\n') : value);
  }
  const body = bodyForFingerprint(req);
  add(body.form);
  add(body.bytes);
  return sha256(Buffer.concat(parts));
}

/** Any user fingerprint (string or bytes), reduced to the stored form. */
export function hashFingerprint(value: string | Uint8Array): string {
  return sha256(value);
}

/** One-shot base64url SHA-256 (`crypto.hash` where Node has it: no Hash object per call). */
export function sha256(value: string | Uint8Array): string {
  if (oneShot) return oneShot('sha256', value, 'base64url');
  return createHash('sha256').update(value).digest('base64url');
}

type OneShotHash = (algorithm: string, data: string | Uint8Array, encoding: 'base64url') => string;
const oneShot = (crypto as { hash?: OneShotHash }).hash;

/**
 * JSON with object keys sorted (recursively), so `{"a":1,"b":2}` and `{"b":2,"a":1}` are the
 * same body. Otherwise as `JSON.stringify`: `toJSON()` is honoured, `undefined` members and
 * functions are dropped, non-finite numbers become `null`.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value)) ?? 'null';
}

function sortKeys(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  const json = (value as { toJSON?: unknown }).toJSON;
  if (typeof json === 'function') return sortKeys(json.call(value));
  if (Array.isArray(value)) return value.map(sortKeys);
  // No prototype: a parsed "__proto__" member stays an ordinary member.
  const sorted = Object.create(null) as Record<string, unknown>;
  for (const key of Object.keys(value).sort()) {
    sorted[key] = sortKeys((value as Record<string, unknown>)[key]);
  }
  return sorted;
}
