/**
 * The record state machine and the store interface both stores implement.
 *
 * ```
 * absent ──acquire──▶ in_progress{token, fingerprint, lease} ──complete(token)──▶ completed
 *    ▲                    │   ▲                                                   {fingerprint,
 *    └──release(token)────┘   └─acquire after the lease expired: new token          status,
 *                                 (the old owner is fenced)                         headers, body}
 * ```
 */
import type { ResponseHeaders } from '@keel/core';

/** A response as stored for replay: status, allow-listed headers, body bytes. */
export interface StoredResponse {
  status: number;
  headers: ResponseHeaders;
  body: Uint8Array;
}

/** What `acquire` found and did. */
export type AcquireOutcome =
  /** The caller owns the record now and must run the handler. */
  | { kind: 'claimed' }
  /** The caller owns the record: the previous owner's lease had expired `expiredMsAgo` ago. */
  | { kind: 'taken-over'; expiredMsAgo: number }
  /** The record is completed with the same fingerprint: replay this. */
  | { kind: 'replay'; response: StoredResponse }
  /** The record is completed, but its response was too large to keep. */
  | { kind: 'not-stored'; status: number }
  /** Another owner holds a live lease; it ends in `retryAfterMs`. */
  | { kind: 'in-flight'; retryAfterMs: number }
  /** The key was used with a different fingerprint. */
  | { kind: 'mismatch' };

/** Why an owner's `complete`/`release`/`renew` was refused (fenced). */
export type FenceReason =
  /** The record no longer exists (released, expired, or lost with the store's data). */
  | 'gone'
  /** Another owner took the record over after this owner's lease expired. */
  | 'taken-over'
  /** The record was already completed by another owner. */
  | 'completed';

/** Result of an owner-only transition. */
export type TransitionOutcome = { ok: true } | { ok: false; reason: FenceReason };

/** What `complete` writes: the response, or only its status when it was too large to keep. */
export type Completion =
  | { stored: true; response: StoredResponse }
  | { stored: false; status: number };

export interface AcquireRequest {
  /** Opaque record id (already hashed from scope and key). */
  record: string;
  /** Random owner token of this claim. */
  token: string;
  /** Request fingerprint (base64url SHA-256). */
  fingerprint: string;
  /** Lease of a new claim, ms. */
  leaseMs: number;
  /** Time to live of the record, ms: how long a completed response is replayed. */
  retentionMs: number;
}

/**
 * Storage for idempotency records. Every method is one atomic step (one Lua script on Redis,
 * one synchronous step in memory) and both stores return identical outcomes: the conformance
 * suite in `test/conformance/idempotency.ts` runs unchanged against memory, Redis and Cluster.
 */
export interface IdempotencyStore {
  /** `memory` or `redis`, for logs and events. */
  readonly kind: string;
  /** absent → claim; completed → replay or mismatch; in progress → conflict, mismatch or takeover. */
  acquire(request: AcquireRequest): Promise<AcquireOutcome>;
  /** in progress (this owner) → completed, for `retentionMs`. */
  complete(
    record: string,
    token: string,
    completion: Completion,
    retentionMs: number,
  ): Promise<TransitionOutcome>;
  /** in progress (this owner) → absent, so the client may retry. */
  release(record: string, token: string): Promise<TransitionOutcome>;
  /** Extend this owner's lease to `leaseMs` from now (a heartbeat), and the record's TTL. */
  renew(
    record: string,
    token: string,
    leaseMs: number,
    retentionMs: number,
  ): Promise<TransitionOutcome>;
}
