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
} as const;

/** Second element of a `FENCED` reply. */
export const FenceCode = { GONE: 0, TAKEN_OVER: 1, COMPLETED: 2 } as const;

const fenceReasons: Record<number, FenceReason> = {
  [FenceCode.GONE]: 'gone',
  [FenceCode.TAKEN_OVER]: 'taken-over',
  [FenceCode.COMPLETED]: 'completed',
};

function toText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  throw new TypeError('not text');
}

function toBytes(value: unknown): Uint8Array {
  if (Buffer.isBuffer(value)) return value;
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  throw new TypeError('not bytes');
}

/** Map an `acquire-record` reply to its outcome. */
export function decodeAcquire(reply: unknown): AcquireOutcome {
  try {
    if (!Array.isArray(reply)) throw new TypeError('not a tuple');
    switch (reply[0]) {
      case ScriptStatus.CLAIMED:
        return { kind: 'claimed' };
      case ScriptStatus.TAKEN_OVER:
        return { kind: 'taken-over', expiredMsAgo: Number(reply[1]) };
      case ScriptStatus.REPLAY:
        return {
          kind: 'replay',
          response: {
            status: Number(reply[1]),
            headers: JSON.parse(toText(reply[2])) as Record<string, string | string[]>,
            body: toBytes(reply[3]),
          },
        };
      case ScriptStatus.NOT_STORED:
        return { kind: 'not-stored', status: Number(reply[1]) };
      case ScriptStatus.IN_FLIGHT:
        return { kind: 'in-flight', retryAfterMs: Math.max(0, Number(reply[1])) };
      case ScriptStatus.MISMATCH:
        return { kind: 'mismatch' };
    }
  } catch {
    // fall through to the error below
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
