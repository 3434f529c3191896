/**
 * The statuses the Lua scripts (and the memory store, which returns the same tuples) reply
 * with, mapped to outcomes in one place so both stores decide identically.
 */
import { UnexpectedScriptReplyError } from '@keel/core';
import type { DestroyResult, ReadResult, TouchResult, WriteResult } from './types.js';

/** First element of every script reply. */
export const ScriptStatus = {
  /** `{0, …}`: done. */
  OK: 0,
  /** `{1}`: no such session. */
  MISSING: 1,
  /** `{2}`: a tombstone (a recent destroy) refused the write. */
  TOMBSTONED: 2,
  /** `{3}`: the absolute lifetime is over; the session was deleted. */
  EXPIRED: 3,
  /** `{4, payload}`: compare-and-set lost: the stored payload changed since the load. */
  CONFLICT: 4,
  /** `{5}`: the stored value is not a JSON object, so it cannot be merged. */
  CORRUPT: 5,
  /** `{6, expiresAtMs}`: a touch that did not need to extend the TTL. */
  UNCHANGED: 6,
  /** `{7}`: a destroy for one user met a session of another user. */
  NOT_OWNER: 7,
} as const;

export type ScriptStatusCode = (typeof ScriptStatus)[keyof typeof ScriptStatus];

type Reply = readonly unknown[];

function asReply(script: string, reply: unknown): Reply {
  if (!Array.isArray(reply) || typeof reply[0] !== 'number') {
    throw new UnexpectedScriptReplyError(script, reply);
  }
  return reply;
}

/** `session-read` reply (bulk strings as Buffers) → outcome. */
export function toReadResult(script: string, raw: unknown): ReadResult {
  const reply = asReply(script, raw);
  switch (reply[0]) {
    case ScriptStatus.OK:
      return {
        status: 'ok',
        session: {
          payload: toBuffer(reply[1]),
          ttlMs: Number(reply[2]),
          createdAtMs: Number(reply[3]),
          lastWriteMs: Number(reply[4]),
          idleTtlMs: Number(reply[5]),
        },
        slid: reply[6] === 1,
      };
    case ScriptStatus.MISSING:
      return { status: 'missing' };
    case ScriptStatus.EXPIRED:
      return { status: 'expired' };
    default:
      throw new UnexpectedScriptReplyError(script, raw);
  }
}

/** `session-save` / `session-merge` reply → outcome. */
export function toWriteResult(script: string, raw: unknown): WriteResult {
  const reply = asReply(script, raw);
  switch (reply[0]) {
    case ScriptStatus.OK:
      return { status: 'ok', expiresAtMs: Number(reply[1]) };
    case ScriptStatus.MISSING:
      return { status: 'missing' };
    case ScriptStatus.TOMBSTONED:
      return { status: 'tombstoned' };
    case ScriptStatus.EXPIRED:
      return { status: 'expired' };
    case ScriptStatus.CONFLICT:
      return { status: 'conflict', current: toBuffer(reply[1]) };
    case ScriptStatus.CORRUPT:
      return { status: 'corrupt' };
    default:
      throw new UnexpectedScriptReplyError(script, raw);
  }
}

/** `session-touch` reply → outcome. */
export function toTouchResult(script: string, raw: unknown): TouchResult {
  const reply = asReply(script, raw);
  switch (reply[0]) {
    case ScriptStatus.OK:
      return { status: 'ok', expiresAtMs: Number(reply[1]) };
    case ScriptStatus.UNCHANGED:
      return { status: 'unchanged', expiresAtMs: Number(reply[1]) };
    case ScriptStatus.MISSING:
      return { status: 'missing' };
    case ScriptStatus.EXPIRED:
      return { status: 'expired' };
    default:
      throw new UnexpectedScriptReplyError(script, raw);
  }
}

/** `session-destroy` reply → outcome. */
export function toDestroyResult(script: string, raw: unknown): DestroyResult {
  const reply = asReply(script, raw);
  switch (reply[0]) {
    case ScriptStatus.OK:
      return { status: 'ok', existed: Number(reply[1]) === 1 };
    case ScriptStatus.NOT_OWNER:
      return { status: 'not-owner' };
    default:
      throw new UnexpectedScriptReplyError(script, raw);
  }
}

export function toBuffer(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (typeof value === 'string') return Buffer.from(value);
  throw new UnexpectedScriptReplyError('session', value);
}
