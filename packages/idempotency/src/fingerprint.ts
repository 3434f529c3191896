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
  const body = bodyPart(req);
  const data = body.data;
  return { form: body.form, bytes: typeof data === 'string' ? Buffer.from(data, 'utf8') : data };
}

const NO_BYTES = new Uint8Array(0);

/** {@link bodyForFingerprint} with text left as a string (its UTF-8 bytes are what count). */
function bodyPart(req: KeelRequest): { form: BodyForm; data: string | Uint8Array } {
  const body = req.body;
  if (req.bodyParsed && body !== undefined) {
    if (body instanceof Uint8Array) return { form: 'bytes', data: body };
    if (typeof body === 'string') return { form: 'bytes', data: body };
    return { form: 'json', data: canonicalJson(body) };
  }
  if (req.rawBody !== undefined) {
    if (/json/i.test(headerValue(req.headers, 'content-type') ?? '')) {
      try {
        const parsed: unknown = JSON.parse(Buffer.from(req.rawBody).toString('utf8'));
        return { form: 'json', data: canonicalJson(parsed) };
      } catch {
        // Not JSON after all: fingerprint the bytes.
      }
    }
    return { form: 'bytes', data: req.rawBody };
  }
  return { form: 'none', data: NO_BYTES };
}

const FINGERPRINT_TAG = 'keel-idempotency-fingerprint-v1';

/** The default fingerprint: base64url SHA-256 of method, path, query, `headers` and body. */
export function defaultFingerprint(req: KeelRequest, headers: readonly string[] = []): string {
  const parts: (string | Uint8Array)[] = [
    FINGERPRINT_TAG,
    req.method.toUpperCase(),
    req.path,
    canonicalQuery(req.search),
  ];
  for (const name of headers) {
    const lower = name.toLowerCase();
    const value = req.headers[lower];
    parts.push(lower, value === undefined ? '' : Array.isArray(value) ? value.join('\n') : value);
  }
  const body = bodyPart(req);
  parts.push(body.form, body.data);
  return sha256(lengthPrefixed(parts));
}

/**
 * The parts in one buffer, each as its byte length (4 bytes, big-endian) followed by its bytes
 * (strings as UTF-8): one allocation, and no two different part lists share a byte stream.
 */
function lengthPrefixed(parts: readonly (string | Uint8Array)[]): Buffer {
  const lengths: number[] = [];
  let size = 0;
  for (const part of parts) {
    const length = typeof part === 'string' ? Buffer.byteLength(part, 'utf8') : part.byteLength;
    lengths.push(length);
    size += 4 + length;
  }
  const buffer = Buffer.allocUnsafe(size);
  let offset = 0;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as string | Uint8Array;
    const length = lengths[i] as number;
    buffer.writeUInt32BE(length, offset);
    offset += 4;
    if (typeof part === 'string') buffer.write(part, offset, length, 'utf8');
    else buffer.set(part, offset);
    offset += length;
  }
  return buffer;
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
 *
 * Written directly rather than as `JSON.stringify` of a sorted copy (same text, no copy). The
 * order is that of the sorted copy: integer-like keys ("0", "7", "10": array indices) first in
 * numeric order, as JavaScript enumerates them, then the other keys sorted by UTF-16 code units.
 */
export function canonicalJson(value: unknown): string {
  return serialize(value) ?? 'null';
}

/** JSON text of a value, or undefined where JSON.stringify leaves a member out. */
function serialize(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      return value === null ? 'null' : serializeObject(value);
    case 'bigint':
      // JSON.stringify's own TypeError.
      return JSON.stringify(value);
    default:
      // undefined, functions, symbols
      return undefined;
  }
}

function serializeObject(value: object): string | undefined {
  const json = (value as { toJSON?: unknown }).toJSON;
  if (typeof json === 'function') return serialize(json.call(value));
  if (Array.isArray(value)) {
    let text = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) text += ',';
      text += serialize(value[i]) ?? 'null';
    }
    return `${text}]`;
  }
  const keys = Object.keys(value);
  // Object.keys lists array-index keys first, in numeric order: they stay there; the rest sort.
  let indices = 0;
  while (indices < keys.length && isArrayIndex(keys[indices] as string)) indices++;
  const names =
    indices === 0 ? keys.sort() : [...keys.slice(0, indices), ...keys.slice(indices).sort()];
  let text = '{';
  let first = true;
  for (const key of names) {
    const member = serialize((value as Record<string, unknown>)[key]);
    if (member === undefined) continue;
    text += first ? `${JSON.stringify(key)}:${member}` : `,${JSON.stringify(key)}:${member}`;
    first = false;
  }
  return `${text}}`;
}

/** "0", "42", … up to 2^32 − 2: the keys JavaScript enumerates first, in numeric order. */
function isArrayIndex(key: string): boolean {
  const code = key.charCodeAt(0);
  if (code < 48 || code > 57) return false;
  if (key === '0') return true;
  return code !== 48 && /^\d{1,10}$/.test(key) && Number(key) < 4294967295;
}
