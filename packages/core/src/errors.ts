/**
 * Keel's error classes. Every throw site in Keel uses one of these (or a feature package's
 * subclass), so callers can branch on a stable `code` instead of parsing messages.
 *
 * Codes are never reused once retired. `type` is the RFC 9457 problem type URI used when the
 * error becomes an HTTP response.
 */

/** Base of all problem type URIs Keel produces. A URN: stable, and not pretending to be a page. */
export const PROBLEM_TYPE_BASE = 'urn:keel:problem:';

export interface KeelErrorOptions {
  /** HTTP status to answer with when this error reaches a client. */
  status?: number;
  /** Short, human-readable summary of the problem type (RFC 9457 `title`). */
  title?: string;
  /** Problem type slug, appended to {@link PROBLEM_TYPE_BASE}. */
  typeSlug?: string;
  cause?: unknown;
}

export class KeelError extends Error {
  /** Stable machine-readable code, e.g. `KEEL_ERR_INVALID_OPTION`. */
  readonly code: string;
  /** HTTP status to use when this error is answered as problem+json. */
  readonly status: number;
  /** RFC 9457 problem type URI. */
  readonly type: string;
  /** RFC 9457 title: the same for every occurrence of this code. */
  readonly title: string;

  constructor(code: string, message: string, options: KeelErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = options.status ?? 500;
    this.title = options.title ?? 'Internal error';
    this.type = PROBLEM_TYPE_BASE + (options.typeSlug ?? slugOf(code));
  }
}

/** `KEEL_ERR_STORE_TIMEOUT` → `store-timeout`. */
export function slugOf(code: string): string {
  return code
    .replace(/^KEEL_ERR_/, '')
    .toLowerCase()
    .replaceAll('_', '-');
}

/**
 * True for any Keel error, including one thrown by a second copy of @keel/core (dual package
 * installs make `instanceof` unreliable), so it also checks the name/code shape.
 */
export function isKeelError(value: unknown): value is KeelError {
  if (value instanceof KeelError) return true;
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as { code?: unknown; type?: unknown };
  return (
    value instanceof Error &&
    typeof candidate.code === 'string' &&
    candidate.code.startsWith('KEEL_ERR_') &&
    typeof candidate.type === 'string'
  );
}

/** A public option has a value Keel cannot accept. Thrown at construction time. */
export class KeelOptionError extends KeelError {
  /** The option path, e.g. `rateLimit.windowMs`. */
  readonly option: string;
  constructor(option: string, message: string) {
    super(codes.INVALID_OPTION, message, { status: 500, title: 'Invalid Keel configuration' });
    this.option = option;
  }
}

/** A store call did not finish within its deadline. */
export class StoreTimeoutError extends KeelError {
  readonly deadlineMs: number;
  constructor(operation: string, deadlineMs: number) {
    super(codes.STORE_TIMEOUT, `Store call "${operation}" did not answer within ${deadlineMs} ms`, {
      status: 503,
      title: 'Storage backend timed out',
    });
    this.deadlineMs = deadlineMs;
  }
}

/** The store is known to be unreachable (circuit open, client reconnecting, connection lost). */
export class StoreUnavailableError extends KeelError {
  constructor(operation: string, reason: string, cause?: unknown) {
    super(codes.STORE_UNAVAILABLE, `Store call "${operation}" failed: ${reason}`, {
      status: 503,
      title: 'Storage backend unavailable',
      cause,
    });
  }
}

/**
 * Redis refused the call for a reason the deployment must fix: the ACL user lacks a command,
 * key pattern or channel (`NOPERM`), the password is wrong, or the server lacks a command Keel
 * needs. The message names what is missing. The request still gets the feature's failure policy.
 */
export class StoreMisconfiguredError extends KeelError {
  constructor(operation: string, feature: string, reply: string, cause?: unknown) {
    super(
      codes.STORE_MISCONFIGURED,
      `Redis refused ${feature} call "${operation}": ${reply}. Give the Redis user the ACL rule in @keel/core's README ("Redis users and ACLs") and check the server version.`,
      { status: 503, title: 'Storage backend misconfigured', cause },
    );
  }
}

/**
 * Redis holds data Keel cannot use under one of its key families: a value of the wrong type
 * (`WRONGTYPE`), usually another application writing under Keel's prefix. The message names the
 * key family. The request still gets the feature's failure policy.
 */
export class StoreDataError extends KeelError {
  /** The key family, e.g. `keel:rl:`. */
  readonly keyFamily: string;
  constructor(operation: string, keyFamily: string, reply: string, cause?: unknown) {
    super(
      codes.STORE_DATA,
      `Redis holds foreign or corrupt data under "${keyFamily}*" (call "${operation}"): ${reply}. Another client may be writing under Keel's prefix; give Keel a prefix of its own.`,
      { status: 503, title: 'Storage backend holds foreign data', cause },
    );
    this.keyFamily = keyFamily;
  }
}

/** A Lua script returned a status this version of Keel does not know: a bug or a version skew. */
export class UnexpectedScriptReplyError extends KeelError {
  /** `cause`: what the decoder found wrong with the reply (which field, what it held). */
  constructor(script: string, reply: unknown, cause?: unknown) {
    super(
      codes.UNEXPECTED_SCRIPT_REPLY,
      `Script "${script}" returned an unexpected reply: ${JSON.stringify(reply)}`,
      { status: 500, title: 'Unexpected storage reply', cause },
    );
  }
}

/** The registry of @keel/core's error codes. Frozen: codes are part of the public API. */
export const codes = Object.freeze({
  INVALID_OPTION: 'KEEL_ERR_INVALID_OPTION',
  STORE_TIMEOUT: 'KEEL_ERR_STORE_TIMEOUT',
  STORE_UNAVAILABLE: 'KEEL_ERR_STORE_UNAVAILABLE',
  UNEXPECTED_SCRIPT_REPLY: 'KEEL_ERR_UNEXPECTED_SCRIPT_REPLY',
  STORE_MISCONFIGURED: 'KEEL_ERR_STORE_MISCONFIGURED',
  STORE_DATA: 'KEEL_ERR_STORE_DATA',
  INTERNAL: 'KEEL_ERR_INTERNAL',
} as const);

export type CoreErrorCode = (typeof codes)[keyof typeof codes];

const STORE_FAILURE_CODES: ReadonlySet<string> = new Set([
  codes.STORE_TIMEOUT,
  codes.STORE_UNAVAILABLE,
  codes.STORE_MISCONFIGURED,
  codes.STORE_DATA,
]);

/**
 * True when the error means "the store could not serve this call" — a timeout, an outage, a
 * refused command or foreign data — rather than a bug: the feature applies its failure policy.
 */
export function isStoreFailure(error: unknown): boolean {
  return isKeelError(error) && STORE_FAILURE_CODES.has(error.code);
}
