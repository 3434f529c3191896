/**
 * Request fingerprints: two requests with the same key must be the same request, or the second
 * gets 422. The default fingerprint is SHA-256 over the method, the path, the canonical query,
 * chosen headers and the body — canonical JSON (key order does not matter) for parsed bodies,
 * the raw bytes otherwise. Each part is length-prefixed, so no two different requests can
 * produce the same byte stream.
 */
import crypto, { createHash } from 'node:crypto';
import { canonicalQuery, headerValue, type KeelRequest } from '@keel/core';
import { IdempotencyBodyTooDeepError } from './errors.js';

/** What the fingerprint of a request is made of; `body` tells how its body was read. */
export type BodyForm = 'json' | 'bytes' | 'none';

/**
 * The body as fingerprinted: canonical JSON text for a parsed body (objects, arrays, numbers…)
 * or a JSON raw body, the bytes for a Buffer/string body or any other raw body, nothing when no
 * body parser ran and no raw bytes are known.
 */
export function bodyForFingerprint(
  req: KeelRequest,
  maxBodyDepth = DEFAULT_MAX_BODY_DEPTH,
): { form: BodyForm; bytes: Uint8Array } {
  const body = bodyPart(req, maxBodyDepth);
  const data = body.data;
  return { form: body.form, bytes: typeof data === 'string' ? Buffer.from(data, 'utf8') : data };
}

const NO_BYTES = new Uint8Array(0);

/** {@link bodyForFingerprint} with text left as a string (its UTF-8 bytes are what count). */
function bodyPart(
  req: KeelRequest,
  maxBodyDepth: number,
): { form: BodyForm; data: string | Uint8Array } {
  const body = req.body;
  if (req.bodyParsed && body !== undefined) {
    if (body instanceof Uint8Array) return { form: 'bytes', data: body };
    if (typeof body === 'string') return { form: 'bytes', data: body };
    return { form: 'json', data: canonicalJson(body, maxBodyDepth) };
  }
  if (req.rawBody !== undefined) {
    if (/json/i.test(headerValue(req.headers, 'content-type') ?? '')) {
      const parsed = parseJson(req.rawBody);
      // A body nested too deep is refused here too, not fingerprinted as bytes instead.
      if (parsed.ok) return { form: 'json', data: canonicalJson(parsed.value, maxBodyDepth) };
    }
    return { form: 'bytes', data: req.rawBody };
  }
  return { form: 'none', data: NO_BYTES };
}

/** JSON text parsed, or not JSON after all (then its bytes are fingerprinted). */
function parseJson(bytes: Uint8Array): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(Buffer.from(bytes).toString('utf8')) };
  } catch {
    return { ok: false };
  }
}

const FINGERPRINT_TAG = 'keel-idempotency-fingerprint-v1';

/**
 * The default fingerprint: base64url SHA-256 of method, path, query, `headers` and body. A JSON
 * body nested deeper than `maxBodyDepth` throws {@link IdempotencyBodyTooDeepError}.
 */
export function defaultFingerprint(
  req: KeelRequest,
  headers: readonly string[] = [],
  maxBodyDepth = DEFAULT_MAX_BODY_DEPTH,
): string {
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
  const body = bodyPart(req, maxBodyDepth);
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
 * How deep a JSON body may nest (arrays and objects) before the default fingerprint refuses it:
 * Ruby's JSON parser's `max_nesting`. Real request bodies stay far below it; a body near it is
 * a client probing for a crash.
 */
export const DEFAULT_MAX_BODY_DEPTH = 100;

/**
 * JSON with object keys sorted (at every depth), so `{"a":1,"b":2}` and `{"b":2,"a":1}` are the
 * same body. Otherwise as `JSON.stringify`: `toJSON()` is honoured, `undefined` members and
 * functions are dropped, non-finite numbers become `null`.
 *
 * Iterative, with an explicit stack: a recursive walk overflows the call stack on a body of
 * ~4,000 nested arrays (8 KB, inside any body limit), which would answer 500 to anyone.
 * Containers nested deeper than `maxDepth` (the top-level one is depth 1) throw
 * {@link IdempotencyBodyTooDeepError}; the limit also ends the walk of a cyclic value.
 *
 * Written directly rather than as `JSON.stringify` of a sorted copy (same text, no copy). The
 * order is that of the sorted copy: integer-like keys ("0", "7", "10": array indices) first in
 * numeric order, as JavaScript enumerates them, then the other keys sorted by UTF-16 code units.
 */
export function canonicalJson(value: unknown, maxDepth = DEFAULT_MAX_BODY_DEPTH): string {
  const root = open(value);
  if (root === undefined) return 'null';
  if (typeof root === 'string') return root;
  if (maxDepth < 1) throw new IdempotencyBodyTooDeepError(maxDepth);
  let text = root.keys === undefined ? '[' : '{';
  const stack: Container[] = [root];
  while (stack.length > 0) {
    const frame = stack[stack.length - 1] as Container;
    const { keys, next } = frame;
    const count = keys === undefined ? (frame.source as unknown[]).length : keys.length;
    if (next === count) {
      text += keys === undefined ? ']' : '}';
      stack.pop();
      continue;
    }
    frame.next = next + 1;
    const key = keys === undefined ? next : (keys[next] as string);
    const member = open((frame.source as Record<string | number, unknown>)[key]);
    let prefix: string;
    if (keys === undefined) prefix = next === 0 ? '' : ',';
    else if (member === undefined) continue;
    else prefix = `${frame.written ? ',' : ''}${JSON.stringify(key)}:`;
    frame.written = true;
    if (member === undefined) text += `${prefix}null`;
    else if (typeof member === 'string') text += prefix + member;
    else {
      if (stack.length >= maxDepth) throw new IdempotencyBodyTooDeepError(maxDepth);
      text += prefix + (member.keys === undefined ? '[' : '{');
      stack.push(member);
    }
  }
  return text;
}

/** An array (`keys` undefined) or object being written, and the index of its next member. */
interface Container {
  readonly source: object;
  readonly keys: readonly string[] | undefined;
  next: number;
  /** An object member was written: the next one needs a comma. */
  written: boolean;
}

/**
 * One value, as `JSON.stringify` sees it after `toJSON()` (called once, as the spec does): its
 * JSON text if it is a primitive, a container to walk, or undefined where JSON leaves a member
 * out (undefined, functions, symbols).
 */
function open(input: unknown): string | Container | undefined {
  let value = input;
  if (typeof value === 'object' && value !== null) {
    const json = (value as { toJSON?: unknown }).toJSON;
    if (typeof json === 'function') value = json.call(value);
  }
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      if (value === null) return 'null';
      return {
        source: value,
        keys: Array.isArray(value) ? undefined : sortedKeys(value),
        next: 0,
        written: false,
      };
    case 'bigint':
      // JSON.stringify's own TypeError.
      return JSON.stringify(value);
    default:
      return undefined;
  }
}

/** Object.keys lists array-index keys first, in numeric order: they stay there; the rest sort. */
function sortedKeys(value: object): string[] {
  const keys = Object.keys(value);
  let indices = 0;
  while (indices < keys.length && isArrayIndex(keys[indices] as string)) indices++;
  return indices === 0 ? keys.sort() : [...keys.slice(0, indices), ...keys.slice(indices).sort()];
}

/** "0", "42", … up to 2^32 − 2: the keys JavaScript enumerates first, in numeric order. */
function isArrayIndex(key: string): boolean {
  const code = key.charCodeAt(0);
  if (code < 48 || code > 57) return false;
  if (key === '0') return true;
  return code !== 48 && /^\d{1,10}$/.test(key) && Number(key) < 4294967295;
}
