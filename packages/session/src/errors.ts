/**
 * @keel/session's error classes and their registry. A corrupt or undecryptable payload is not
 * an error (it is "no session", reported through the `session.corrupt` event); these are the
 * cases where the application must hear about it.
 */
import { KeelError } from '@keel/core';

/** The registry of this package's error codes. Frozen: codes are public API, never reused. */
export const codes = Object.freeze({
  /** 500: a session id with characters that cannot go into a key (braces, glob characters, spaces). */
  INVALID_ID: 'KEEL_ERR_SESSION_INVALID_ID',
  /** 500: `clear()` on a store with an empty prefix would delete every key of the database. */
  CLEAR_REFUSED: 'KEEL_ERR_SESSION_CLEAR_REFUSED',
  /** 409: an encrypted/compressed session kept changing under a write; it was not saved. */
  CONFLICT: 'KEEL_ERR_SESSION_CONFLICT',
  /** 500: a session library (express-session) the adapter extends is not installed. */
  PEER_MISSING: 'KEEL_ERR_SESSION_PEER_MISSING',
  /** 500: a session helper ran on a request without a session (no session middleware before it). */
  NOT_MOUNTED: 'KEEL_ERR_SESSION_NOT_MOUNTED',
} as const);

export type SessionErrorCode = (typeof codes)[keyof typeof codes];

/** A session id that cannot be used as part of a key. */
export class SessionIdError extends KeelError {
  constructor(id: string) {
    super(
      codes.INVALID_ID,
      `session id ${JSON.stringify(id.length > 40 ? `${id.slice(0, 40)}…` : id)} is not usable: ids must be 1-256 printable ASCII characters without spaces, braces, backslashes or glob characters (*?[]). express-session's and koa-session's default ids qualify; check a custom genid().`,
      { status: 500, title: 'Invalid session id' },
    );
  }
}

/** `clear()` refused: with an empty prefix it would delete every key. */
export class SessionClearRefusedError extends KeelError {
  constructor() {
    super(
      codes.CLEAR_REFUSED,
      'session store: clear() refuses to run with an empty prefix, which would delete every key in the database. Set a prefix (the default is "sess:").',
      { status: 500, title: 'Session clear refused' },
    );
  }
}

/** Compare-and-set of an encoded session lost `attempts` times in a row. */
export class SessionConflictError extends KeelError {
  readonly attempts: number;
  constructor(attempts: number) {
    super(
      codes.CONFLICT,
      `session store: the session changed concurrently ${attempts} times in a row while this request saved it; its changes were not written.`,
      { status: 409, title: 'Session changed concurrently' },
    );
    this.attempts = attempts;
  }
}

/** An adapter needs a session library that is not installed. */
export class SessionPeerMissingError extends KeelError {
  constructor(peer: string, cause?: unknown) {
    super(
      codes.PEER_MISSING,
      `${peer} is not installed: run \`npm install ${peer}\` to use Keel's session store with it.`,
      { status: 500, title: 'Session library missing', cause },
    );
  }
}

/** A session helper ran on a request that has no session: the session middleware is not mounted. */
export class SessionNotMountedError extends KeelError {
  constructor(helper: string) {
    super(
      codes.NOT_MOUNTED,
      `${helper} found no session on the request: mount the session middleware (express-session) before this route, with a cookie path that covers it.`,
      { status: 500, title: 'Session middleware not mounted' },
    );
  }
}
