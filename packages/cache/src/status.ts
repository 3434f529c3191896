/**
 * The statuses the Lua scripts (and the memory store, which builds the same outcomes) reply
 * with, decoded in one place so both stores give identical results.
 */
import { UnexpectedScriptReplyError } from '@keel/core';
import type { MissMarker, ReadResult, WriteOutcome } from './types.js';

/** First element of every script reply. */
export const ScriptStatus = {
  /** `{0, createdMs, nowMs, meta, body, gen}`: an entry of the current generation. */
  HIT: 0,
  /** `{1, vary, gen}`: the record's Vary differs from the caller's guess. */
  VARY: 1,
  /** `{2, gen, marker}`: nothing usable. */
  MISS: 2,
  /** `{3, …}`: a write, delete, tag or publish step done. */
  OK: 3,
  /** `{4}`: the primary was deleted since the caller's read; nothing written. */
  CONFLICT: 4,
} as const;

function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (typeof value === 'number') return String(value);
  throw new TypeError('not text');
}

function bytes(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  throw new TypeError('not bytes');
}

function marker(value: unknown): MissMarker | undefined {
  const m = text(value);
  return m === 'uncacheable' || m === 'failed' ? m : undefined;
}

/** Decode a `read-entry` reply (bulk strings may come back as Buffers). */
export function decodeRead(reply: unknown): ReadResult {
  try {
    if (!Array.isArray(reply)) throw new TypeError('not a tuple');
    switch (reply[0]) {
      case ScriptStatus.HIT:
        return {
          kind: 'hit',
          createdAt: Number(text(reply[1])),
          now: Number(reply[2]),
          meta: text(reply[3]),
          body: bytes(reply[4]),
          gen: text(reply[5]),
        };
      case ScriptStatus.VARY:
        return { kind: 'vary', vary: text(reply[1]), gen: text(reply[2]) };
      case ScriptStatus.MISS:
        return { kind: 'miss', gen: text(reply[1]), marker: marker(reply[2]) };
    }
  } catch {
    // fall through to the error below
  }
  throw new UnexpectedScriptReplyError('read-entry', printable(reply));
}

/** Decode a `write-entry` reply. */
export function decodeWrite(reply: unknown): WriteOutcome {
  if (Array.isArray(reply)) {
    if (reply[0] === ScriptStatus.OK && reply[1] !== undefined) {
      return { kind: 'written', gen: text(reply[1]) };
    }
    if (reply[0] === ScriptStatus.CONFLICT) return { kind: 'conflict' };
  }
  throw new UnexpectedScriptReplyError('write-entry', printable(reply));
}

/** Decode an `{3, value}` reply (ensure-tag, publish-invalidation). */
export function decodeOk(script: string, reply: unknown): string {
  if (Array.isArray(reply) && reply[0] === ScriptStatus.OK) {
    try {
      return reply[1] === undefined ? '' : text(reply[1]);
    } catch {
      // fall through
    }
  }
  throw new UnexpectedScriptReplyError(script, printable(reply));
}

function printable(reply: unknown): unknown {
  return Array.isArray(reply)
    ? reply.map((item) => (Buffer.isBuffer(item) ? `<${item.length} bytes>` : item))
    : reply;
}
