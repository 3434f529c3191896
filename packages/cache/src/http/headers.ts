/**
 * The headers a cached response goes out with: `Age` (RFC 9111 §5.1), `Cache-Status`
 * (RFC 9211), a strong `ETag` when the origin sent none, and conditional requests
 * (`If-None-Match` → 304, RFC 9110 §13.1.2 weak comparison; `If-Modified-Since` when there is
 * no `If-None-Match`).
 */
import { createHash } from 'node:crypto';
import type { IncomingHeaders, KeelResponse, ResponseHeaders } from '@keel/core';

/** Stored unless configured otherwise: what describes the representation, nothing per request. */
export const DEFAULT_STORED_HEADERS: readonly string[] = [
  'content-type',
  'content-encoding',
  'content-language',
  'content-disposition',
  'content-location',
  'cache-control',
  'etag',
  'expires',
  'last-modified',
  'link',
  'location',
  'vary',
  'x-content-type-options',
];

/** The headers a 304 repeats from the 200 it stands for (RFC 9110 §15.4.5), plus ours. */
const NOT_MODIFIED_HEADERS = [
  'cache-control',
  'content-location',
  'etag',
  'expires',
  'vary',
  'last-modified',
  'age',
  'cache-status',
];

/** A strong validator from the body bytes: SHA-256, base64url, 160 bits. */
export function strongEtag(body: Uint8Array): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
}

/** One `Cache-Status` member: `keel; hit; ttl=12`. Parameters in RFC 9211 order. */
export function cacheStatus(
  name: string,
  params: {
    hit?: boolean;
    fwd?: 'bypass' | 'miss' | 'stale' | 'vary-miss' | 'request';
    fwdStatus?: number;
    ttlMs?: number;
    stored?: boolean;
    collapsed?: boolean;
    detail?: string;
  },
): string {
  let value = name;
  if (params.hit) value += '; hit';
  if (params.fwd) value += `; fwd=${params.fwd}`;
  if (params.fwdStatus !== undefined) value += `; fwd-status=${params.fwdStatus}`;
  if (params.ttlMs !== undefined) value += `; ttl=${Math.trunc(params.ttlMs / 1000)}`;
  if (params.stored) value += '; stored';
  if (params.collapsed) value += '; collapsed';
  if (params.detail) value += `; detail=${params.detail}`;
  return value;
}

function first(headers: IncomingHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** Weak comparison (RFC 9110 §8.8.3.2): `W/"x"` matches `"x"`. */
function weak(tag: string): string {
  return tag.startsWith('W/') ? tag.slice(2) : tag;
}

/** True when the conditional headers of the request say the client's copy is current. */
export function notModified(request: IncomingHeaders, response: ResponseHeaders): boolean {
  const etag = response.etag;
  const ifNoneMatch = first(request, 'if-none-match');
  if (ifNoneMatch !== undefined) {
    if (typeof etag !== 'string') return false;
    if (ifNoneMatch.trim() === '*') return true;
    const mine = weak(etag.trim());
    return ifNoneMatch.split(',').some((candidate) => weak(candidate.trim()) === mine);
  }
  const since = first(request, 'if-modified-since');
  const modified = response['last-modified'];
  if (since === undefined || typeof modified !== 'string') return false;
  const sinceMs = Date.parse(since);
  const modifiedMs = Date.parse(modified);
  return Number.isFinite(sinceMs) && Number.isFinite(modifiedMs) && modifiedMs <= sinceMs;
}

/**
 * The response for a cached entry: its status, headers and body, plus `Age` and
 * `Cache-Status`; a 304 when the request's validators match a 200. For HEAD the body is kept
 * (Express and Koa drop it themselves) and `Content-Length` is set.
 */
export function replay(
  request: IncomingHeaders,
  stored: { status: number; headers: ResponseHeaders; body: Buffer },
  ageMs: number,
  status: string | undefined,
  head = false,
): KeelResponse {
  const headers: ResponseHeaders = { ...stored.headers, age: String(Math.floor(ageMs / 1000)) };
  // HEAD: the framework drops the body, but the length is the GET's (RFC 9110 §9.3.2).
  if (head) headers['content-length'] = String(stored.body.byteLength);
  if (status !== undefined) headers['cache-status'] = status;
  if (stored.status === 200 && notModified(request, headers)) {
    const kept: ResponseHeaders = {};
    for (const name of NOT_MODIFIED_HEADERS) {
      const value = headers[name];
      if (value !== undefined) kept[name] = value;
    }
    return { status: 304, headers: kept, body: Buffer.alloc(0) };
  }
  return { status: stored.status, headers, body: stored.body };
}
