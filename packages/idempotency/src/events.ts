/**
 * The events @keel/idempotency emits through core's hook (`events` option). `record` is an
 * opaque hash of the scope and the key: it correlates events without revealing either.
 */
import type { FenceReason } from './types.js';

declare module '@keel/core' {
  interface KeelEventMap {
    /** A fresh claim: the handler runs. */
    'idempotency.claimed': { record: string };
    /** A claim whose previous owner's lease had expired (a crashed or stuck worker). */
    'idempotency.taken-over': { record: string; expiredMsAgo: number };
    /** A stored response was replayed. */
    'idempotency.replayed': { record: string; status: number };
    /** The same key is in flight and `waitMs` is set: this request waits for its response. */
    'idempotency.waiting': { record: string; retryAfterMs: number };
    /** 409: the same key is still being processed. */
    'idempotency.in-flight': { record: string; retryAfterMs: number };
    /** 422: the key was used with a different request. */
    'idempotency.mismatch': { record: string };
    /** 410: the first response was too large to keep. */
    'idempotency.not-stored': { record: string; status: number };
    /** 400 or 503 before any record was touched. */
    'idempotency.rejected': {
      reason: 'key-missing' | 'key-invalid' | 'body-too-deep' | 'store-unavailable';
    };
    /** The handler's response was stored (`stored: false`: only its status, it was too large). */
    'idempotency.completed': { record: string; status: number; stored: boolean };
    /**
     * The claim was released so the client may retry: a status not stored, or a thrown error
     * (the event's `error`).
     */
    'idempotency.released': { record: string; reason: 'status' | 'error'; status?: number };
    /**
     * An owner's complete/release/renew was refused because it no longer owns the record: its
     * lease was taken over, or the record is gone. Nothing was written.
     */
    'idempotency.fenced': {
      record: string;
      operation: 'complete' | 'release' | 'renew';
      reason: FenceReason;
    };
    /** The client disconnected before the response was finished; the claim lapses with its lease. */
    'idempotency.aborted': { record: string };
    /** A store call after the handler ran (complete, release, renew) failed; see `error`. */
    'idempotency.store-error': { record: string; operation: 'complete' | 'release' | 'renew' };
  }
}
