/**
 * @keel/idempotency's error classes and their registry. Expected outcomes (a replay, a
 * conflict, a mismatch) are decisions, not exceptions: these classes give each rejection a
 * stable code, HTTP status and RFC 9457 problem type, and the engine turns them into
 * `application/problem+json` responses with `problemFromError()`.
 */
import { KeelError } from '@keel/core';

/** What a rejection is about: an HTTP request, or a call of the function API (`run`, `wrap`). */
export type IdempotencySubject = 'request' | 'call';

/** The registry of this package's error codes. Frozen: codes are public API, never reused. */
export const codes = Object.freeze({
  /** 400: the route requires an `Idempotency-Key` and the request has none. */
  KEY_MISSING: 'KEEL_ERR_IDEMPOTENCY_KEY_MISSING',
  /** 400: the header is not a valid structured-field string, or too long, or has bad characters. */
  KEY_INVALID: 'KEEL_ERR_IDEMPOTENCY_KEY_INVALID',
  /** 409: a request with the same key is still being processed (`Retry-After` says how long). */
  REQUEST_IN_FLIGHT: 'KEEL_ERR_IDEMPOTENCY_REQUEST_IN_FLIGHT',
  /** 422: the key was already used for a different request (method, path, query or body). */
  KEY_REUSED: 'KEEL_ERR_IDEMPOTENCY_KEY_REUSED',
  /** 410: the request ran, but its response was too large to keep, so it cannot be replayed. */
  RESPONSE_NOT_STORED: 'KEEL_ERR_IDEMPOTENCY_RESPONSE_NOT_STORED',
  /** 500: the `scope` function returned no scope for a request (a configuration bug). */
  SCOPE_MISSING: 'KEEL_ERR_IDEMPOTENCY_SCOPE_MISSING',
  /** 400: the JSON body nests deeper than the default fingerprint accepts (`maxBodyDepth`). */
  BODY_TOO_DEEP: 'KEEL_ERR_IDEMPOTENCY_BODY_TOO_DEEP',
} as const);

export type IdempotencyErrorCode = (typeof codes)[keyof typeof codes];

/** 400: a required `Idempotency-Key` header is missing. */
export class IdempotencyKeyMissingError extends KeelError {
  constructor(header = 'Idempotency-Key') {
    super(
      codes.KEY_MISSING,
      `This request needs an ${header} header, e.g. ${header}: "4f1c0d8e-9a1b-4c55-8b0e-3d1f2a6b7c9d" (a quoted, unique value per operation).`,
      { status: 400, title: 'Idempotency-Key header missing' },
    );
  }
}

/** 400: the `Idempotency-Key` header is not a valid key. `reason` says why. */
export class IdempotencyKeyInvalidError extends KeelError {
  constructor(reason: string) {
    super(codes.KEY_INVALID, reason, { status: 400, title: 'Invalid Idempotency-Key header' });
  }
}

/** 409: the same key is still being processed; retry after `retryAfterSeconds`. */
export class IdempotencyRequestInFlightError extends KeelError {
  readonly retryAfterSeconds: number;
  constructor(retryAfterSeconds = 1, subject: IdempotencySubject = 'request') {
    super(
      codes.REQUEST_IN_FLIGHT,
      subject === 'call'
        ? `Another call with this idempotency key is still running; retry in ${retryAfterSeconds} s to get its result (or set waitMs to wait for it).`
        : `A request with this Idempotency-Key is still being processed; retry in ${retryAfterSeconds} s to get its response.`,
      { status: 409, title: 'Request with this Idempotency-Key in progress' },
    );
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** 422: the key was used before with a different request. */
export class IdempotencyKeyReusedError extends KeelError {
  constructor(subject: IdempotencySubject = 'request') {
    super(
      codes.KEY_REUSED,
      subject === 'call'
        ? 'This idempotency key was already used for a call with another fingerprint (different arguments). Use a new key for a new operation.'
        : 'This Idempotency-Key was already used for a different request (method, path, query or body differ). Use a new key for a new operation.',
      { status: 422, title: 'Idempotency-Key reused for a different request' },
    );
  }
}

/** 410: the first request ran, but its response was too large to store, so none can be replayed. */
export class IdempotencyResponseNotStoredError extends KeelError {
  /** The status the first execution answered with. */
  readonly originalStatus: number;
  constructor(originalStatus: number, subject: IdempotencySubject = 'request') {
    super(
      codes.RESPONSE_NOT_STORED,
      subject === 'call'
        ? 'The call with this idempotency key already ran, but its result was too large to keep (maxResultBytes) or could not be encoded, so it cannot be returned. It was not run again.'
        : `The request with this Idempotency-Key was already processed (status ${originalStatus}), but its response was too large to keep, so it cannot be replayed. It was not executed again.`,
      { status: 410, title: 'Idempotent response not available' },
    );
    this.originalStatus = originalStatus;
  }
}

/** 500: `scope(req)` returned nothing usable. A configuration bug, reported to the app. */
export class IdempotencyScopeError extends KeelError {
  constructor(got: string) {
    super(
      codes.SCOPE_MISSING,
      `idempotency: the scope function returned ${got} for a request; it must return a non-empty string (a user, tenant or API-key id). Put idempotency() after authentication, or return e.g. 'anonymous' for unauthenticated callers.`,
      { status: 500, title: 'Idempotency scope missing' },
    );
  }
}

/**
 * 400: the JSON body nests arrays and objects deeper than `maxDepth`, so the default fingerprint
 * refuses it (the handler does not run and nothing is stored). Its problem carries `maxDepth`.
 */
export class IdempotencyBodyTooDeepError extends KeelError {
  /** The deepest nesting accepted (the top-level array or object is depth 1). */
  readonly maxDepth: number;
  constructor(maxDepth: number) {
    super(
      codes.BODY_TOO_DEEP,
      `The JSON body nests arrays and objects more than ${maxDepth} levels deep; requests with an Idempotency-Key accept at most ${maxDepth}. Send a flatter body.`,
      { status: 400, title: 'Request body nested too deep' },
    );
    this.maxDepth = maxDepth;
  }
}
