/**
 * @keel/cache's error classes and their registry. The cache fails open — a store outage
 * bypasses the cache — so few of these reach a client: the ones that do are problem+json via
 * core's `problemFromError()`.
 */
import { KeelError } from '@keel/core';

/** The registry of this package's error codes. Frozen: codes are public API, never reused. */
export const codes = Object.freeze({
  /** 500: `wrap`/`get`/`set`/`delete` got an empty or non-string key (a programming error). */
  KEY_INVALID: 'KEEL_ERR_CACHE_KEY_INVALID',
  /** 500: a tag is empty, not a string, or longer than 1,024 characters. */
  TAG_INVALID: 'KEEL_ERR_CACHE_TAG_INVALID',
  /** 500: a value could not be encoded (the default codec is JSON; BigInt, cycles…). */
  VALUE_NOT_ENCODABLE: 'KEEL_ERR_CACHE_VALUE_NOT_ENCODABLE',
  /**
   * 503: this request waited on another request's origin call for the same key, that call
   * failed, and no stale copy was there to serve instead.
   */
  SHARED_FILL_FAILED: 'KEEL_ERR_CACHE_SHARED_FILL_FAILED',
} as const);

export type CacheErrorCode = (typeof codes)[keyof typeof codes];

/** A cache key is empty or not a string. */
export class CacheKeyError extends KeelError {
  constructor(got: string) {
    super(codes.KEY_INVALID, `cache: a key must be a non-empty string, got ${got}`, {
      status: 500,
      title: 'Invalid cache key',
    });
  }
}

/** A tag is empty, not a string, or too long. */
export class CacheTagError extends KeelError {
  constructor(got: string) {
    super(
      codes.TAG_INVALID,
      `cache: a tag must be a non-empty string of at most 1024 characters, got ${got}`,
      { status: 500, title: 'Invalid cache tag' },
    );
  }
}

/** The codec could not encode a value (JSON cannot hold it). */
export class CacheValueError extends KeelError {
  constructor(key: string, cause: unknown) {
    super(
      codes.VALUE_NOT_ENCODABLE,
      `cache: the value for key ${JSON.stringify(key)} could not be encoded: ${(cause as Error)?.message ?? String(cause)}`,
      { status: 500, title: 'Cache value not encodable', cause },
    );
  }
}

/**
 * 503: the request was collapsed onto another request's origin call, which failed, and there
 * was no stale copy to serve. Answered at once instead of every waiter retrying the origin in
 * turn; `Retry-After` says when to try again.
 */
export class SharedFillFailedError extends KeelError {
  /** Suggested wait before retrying, seconds. */
  readonly retryAfterSeconds: number;
  constructor(retryAfterSeconds = 1, cause?: unknown) {
    super(
      codes.SHARED_FILL_FAILED,
      'The response for this resource was being produced for another request, and that attempt failed; no earlier copy was available. Retry shortly.',
      { status: 503, title: 'Shared origin call failed', cause },
    );
    this.retryAfterSeconds = retryAfterSeconds;
  }
}
