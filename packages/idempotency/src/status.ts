/**
 * The statuses the Lua scripts (and the memory store, which returns the same tuples) reply
 * with, mapped to outcomes in one place so both stores produce identical decisions.
 */
import { UnexpectedScriptReplyError } from '@keel/core';
import type { AcquireOutcome, FenceReason, TransitionOutcome } from './types.js';

/** First element of every script reply. */
export const ScriptStatus = {
  /** `{0}`: claimed a fresh record (or this same claim, re-sent after a reconnect). */
  CLAIMED: 0,
  /** `{1, expiredMsAgo}`: claimed a record whose owner's lease had expired. */
  TAKEN_OVER: 1,
  /** `{2, status, headersJson, body}`: completed with this fingerprint. */
  REPLAY: 2,
  /** `{3, status}`: completed, response too large to keep. */
  NOT_STORED: 3,
  /** `{4, leaseLeftMs}`: another owner's lease is live. */
  IN_FLIGHT: 4,
  /** `{5}`: different fingerprint. */
  MISMATCH: 5,
  /** `{6}`: complete/release/renew done. */
  OK: 6,
  /** `{7, reason}`: not the current owner; reason is a {@link FenceCode}. */
  FENCED: 7,
  /** `{8, field}`: the record holds a field Keel cannot read (foreign or corrupt data). */
  CORRUPT: 8,
} as const;

/**
 * A record holds data Keel did not write, or cannot read back (a replayed status that is not a
 * number, headers that are not JSON, a lease that is not a time). Not a bug in Keel: the Redis
 * store turns it into core's `StoreDataError`, so the request gets the failure policy (503)
 * and the message names the key family.
 */
export class CorruptRecordError extends Error {
  /** `cause`: the parser's own error, when one said why. */
  constructor(
    readonly detail: string,
    cause?: unknown,
  ) {
    super(
      `the idempotency record is unreadable: ${detail}`,
      cause === undefined ? undefined : { cause },
    );
    this.name = new.target.name;
  }
}

/** Second element of a `FENCED` reply. */
export const FenceCode = { GONE: 0, TAKEN_OVER: 1, COMPLETED: 2 } as const;

const fenceReasons: Record<number, FenceReason> = {
  [FenceCode.GONE]: 'gone',
  [FenceCode.TAKEN_OVER]: 'taken-over',
  [FenceCode.COMPLETED]: 'completed',
};

function toText(value: unknown, field: string): string {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  throw new CorruptRecordError(`its ${field} is missing`);
}

function toBytes(value: unknown, field: string): Uint8Array {
  if (Buffer.isBuffer(value)) return value;
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  throw new CorruptRecordError(`its ${field} is missing`);
}

/** A stored HTTP status: an integer from 100 to 599, or the record is corrupt. */
function toStatus(value: unknown): number {
  const status = Number(value);
  if (!Number.isInteger(status) || status < 100 || status > 599) {
    throw new CorruptRecordError('its status is not an HTTP status');
  }
  return status;
}

/** Stored replay headers: a JSON object of strings (or string lists), or the record is corrupt. */
function toHeaders(value: unknown): Record<string, string | string[]> {
  const text = toText(value, 'headers');
  let headers: unknown;
  try {
    headers = JSON.parse(text);
  } catch (error) {
    throw new CorruptRecordError('its headers are not JSON', error);
  }
  const valid =
    typeof headers === 'object' &&
    headers !== null &&
    !Array.isArray(headers) &&
    Object.values(headers).every(
      (v) => typeof v === 'string' || (Array.isArray(v) && v.every((i) => typeof i === 'string')),
    );
  if (!valid) throw new CorruptRecordError('its headers are not an object of strings');
  return headers as Record<string, string | string[]>;
}

/**
 * Map an `acquire-record` reply to its outcome. A known status whose stored fields cannot be
 * read throws {@link CorruptRecordError} (data); an unknown reply throws
 * `UnexpectedScriptReplyError` (a bug or a version skew).
 */
export function decodeAcquire(reply: unknown): AcquireOutcome {
  if (Array.isArray(reply)) {
    switch (reply[0]) {
      case ScriptStatus.CLAIMED:
        return { kind: 'claimed' };
      case ScriptStatus.TAKEN_OVER:
        return { kind: 'taken-over', expiredMsAgo: Number(reply[1]) };
      case ScriptStatus.REPLAY:
        return {
          kind: 'replay',
          response: {
            status: toStatus(reply[1]),
            headers: toHeaders(reply[2]),
            body: toBytes(reply[3], 'body'),
          },
        };
      case ScriptStatus.NOT_STORED:
        return { kind: 'not-stored', status: toStatus(reply[1]) };
      case ScriptStatus.IN_FLIGHT:
        return { kind: 'in-flight', retryAfterMs: Math.max(0, Number(reply[1])) };
      case ScriptStatus.MISMATCH:
        return { kind: 'mismatch' };
      case ScriptStatus.CORRUPT:
        throw new CorruptRecordError(`its ${toText(reply[1], 'field name')} cannot be read`);
    }
  }
  throw new UnexpectedScriptReplyError('acquire-record', printable(reply));
}

/** Map a `complete-record` / `release-claim` / `renew-lease` reply to its outcome. */
export function decodeTransition(script: string, reply: unknown): TransitionOutcome {
  if (Array.isArray(reply)) {
    if (reply[0] === ScriptStatus.OK) return { ok: true };
    const reason = fenceReasons[reply[1] as number];
    if (reply[0] === ScriptStatus.FENCED && reason) return { ok: false, reason };
  }
  throw new UnexpectedScriptReplyError(script, printable(reply));
}

function printable(reply: unknown): unknown {
  return Array.isArray(reply)
    ? reply.map((item) => (Buffer.isBuffer(item) ? `<${item.length} bytes>` : item))
    : reply;
}
