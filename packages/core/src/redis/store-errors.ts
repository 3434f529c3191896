/**
 * Every error a Redis call can end in, classified once for all features:
 *
 * - `unavailable`: the store cannot serve now — connection errors, and the replies of a Redis
 *   that is full (`OOM`), busy with another client's script (`BUSY`), loading its data set,
 *   a demoted or read-only replica, a Cluster without a quorum or mid-resharding, or ioredis's
 *   "Too many Cluster redirections" while a dead master's slots move. An outage: it trips the
 *   breaker and the feature applies its failure policy.
 * - `misconfigured`: the deployment must change — a missing ACL permission (`NOPERM`), a wrong
 *   password, a command the server does not have.
 * - `data`: a Keel key holds something Keel did not write (`WRONGTYPE`).
 * - `abandoned`: the call's script started after its caller had given up (see `scripts.ts`)
 *   and did nothing.
 * - `undefined`: anything else is a bug and passes through unchanged.
 */
import {
  isKeelError,
  isStoreFailure,
  type KeelError,
  StoreDataError,
  StoreMisconfiguredError,
  StoreTimeoutError,
  StoreUnavailableError,
} from '../errors.js';

export type StoreErrorKind = 'unavailable' | 'misconfigured' | 'data' | 'abandoned';

/** The error reply prefix of a script that refused to run after its caller's deadline. */
export const ABANDONED_REPLY = 'KEELABANDONED';

/** Redis error codes (the reply's first word) by kind. */
const REPLY_CODES: Readonly<Record<string, StoreErrorKind>> = {
  OOM: 'unavailable',
  BUSY: 'unavailable',
  LOADING: 'unavailable',
  READONLY: 'unavailable',
  MASTERDOWN: 'unavailable',
  CLUSTERDOWN: 'unavailable',
  TRYAGAIN: 'unavailable',
  NOREPLICAS: 'unavailable',
  MISCONF: 'unavailable',
  // A slot that moved (a Cluster failover) reaches Keel only from a pipeline, which ioredis
  // does not redirect when it also holds a write (`WAIT` after a durable write's script).
  MOVED: 'unavailable',
  ASK: 'unavailable',
  NOPERM: 'misconfigured',
  NOAUTH: 'misconfigured',
  WRONGPASS: 'misconfigured',
  WRONGTYPE: 'data',
  [ABANDONED_REPLY]: 'abandoned',
};

/**
 * Client-side failures that mean "Redis could not be reached": ioredis's, then node-redis's
 * (offline queue disabled, closed or dropped socket, connect timeout, no cluster node reachable).
 */
const CONNECTION_ERROR =
  /Connection is closed|Stream isn't writeable|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|enableOfflineQueue|Failed to refresh slots cache|None of startup nodes is available|Too many Cluster redirections|Cluster isn't ready|^The client is (offline|closed)|^Socket closed unexpectedly|^Connection timeout|^Socket timeout|^All the root nodes are unavailable/i;

/** Unknown commands, and ACL refusals of a command inside a script (Redis 7 words them `ERR`). */
const MISCONFIGURED =
  /^ERR (unknown command|unknown subcommand|unknown or disabled command|The user executing the script can't)/i;

/**
 * The reply's error code. Redis 7 keeps a script's inner error code first ("OOM command not
 * allowed … script: …"); Redis 6 wraps it ("ERR Error running script …: -OOM …").
 */
function replyCode(message: string): string {
  const wrapped = /^ERR Error running script[^-]*-([A-Z]+)\b/.exec(message);
  if (wrapped?.[1]) return wrapped[1];
  return /^([A-Z]+)\b/.exec(message)?.[1] ?? '';
}

export function classifyStoreError(error: unknown): StoreErrorKind | undefined {
  if (isStoreFailure(error)) return undefined;
  if (!(error instanceof Error) || isKeelError(error)) return undefined;
  const name = error.name;
  if (name === 'MaxRetriesPerRequestError' || name === 'ClusterAllFailedError') {
    return 'unavailable';
  }
  const message = error.message;
  const byCode = REPLY_CODES[replyCode(message)];
  if (byCode) return byCode;
  if (MISCONFIGURED.test(message)) return 'misconfigured';
  if (CONNECTION_ERROR.test(message)) return 'unavailable';
  return undefined;
}

export interface StoreErrorContext {
  operation: string;
  feature: string;
  /** The feature's key family, e.g. `keel:rl:`, named in data errors. */
  keyFamily: string;
  deadlineMs: number;
}

/**
 * The coded error a failed call ends in, and whether it counts as an outage (for the breaker).
 * Errors that are not store failures come back unchanged with `outage: false`.
 */
export function toStoreError(
  error: unknown,
  context: StoreErrorContext,
): { error: unknown; outage: boolean } {
  if (isStoreFailure(error)) {
    const code = (error as KeelError).code;
    const outage = code === 'KEEL_ERR_STORE_TIMEOUT' || code === 'KEEL_ERR_STORE_UNAVAILABLE';
    return { error, outage };
  }
  const kind = classifyStoreError(error);
  const message = error instanceof Error ? error.message : String(error);
  switch (kind) {
    case undefined:
      return { error, outage: false };
    case 'unavailable':
      return { error: new StoreUnavailableError(context.operation, message, error), outage: true };
    case 'abandoned':
      return { error: new StoreTimeoutError(context.operation, context.deadlineMs), outage: true };
    case 'misconfigured':
      return {
        error: new StoreMisconfiguredError(context.operation, context.feature, message, error),
        outage: false,
      };
    case 'data':
      return {
        error: new StoreDataError(context.operation, context.keyFamily, message, error),
        outage: false,
      };
    default: {
      const never: never = kind;
      return never;
    }
  }
}
