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

/** One reply being decoded: a field of the wrong type ends it as a coded error naming the field. */
class Reply {
  constructor(
    readonly script: string,
    readonly items: readonly unknown[],
  ) {}

  text(index: number, field: string): string {
    const value = this.items[index];
    if (typeof value === 'string') return value;
    if (Buffer.isBuffer(value)) return value.toString('utf8');
    if (typeof value === 'number') return String(value);
    throw this.wrong(index, field, 'text');
  }

  bytes(index: number, field: string): Buffer {
    const value = this.items[index];
    if (Buffer.isBuffer(value)) return value;
    if (typeof value === 'string') return Buffer.from(value, 'utf8');
    throw this.wrong(index, field, 'bytes');
  }

  marker(index: number): MissMarker | undefined {
    const m = this.text(index, 'marker');
    return m === 'uncacheable' || m === 'failed' ? m : undefined;
  }

  /** The reply as unexpected, with the field that made it so as the cause. */
  wrong(index: number, field: string, expected: string): UnexpectedScriptReplyError {
    const found = this.items[index] === null ? 'null' : typeof this.items[index];
    const cause = new TypeError(`field ${index} (${field}) is ${found}, not ${expected}`);
    return new UnexpectedScriptReplyError(this.script, printable(this.items), cause);
  }
}

/** Decode a `read-entry` reply (bulk strings may come back as Buffers). */
export function decodeRead(reply: unknown): ReadResult {
  if (Array.isArray(reply)) {
    const r = new Reply('read-entry', reply);
    switch (reply[0]) {
      case ScriptStatus.HIT:
        return {
          kind: 'hit',
          createdAt: Number(r.text(1, 'createdMs')),
          now: Number(reply[2]),
          meta: r.text(3, 'meta'),
          body: r.bytes(4, 'body'),
          gen: r.text(5, 'gen'),
        };
      case ScriptStatus.VARY:
        return { kind: 'vary', vary: r.text(1, 'vary'), gen: r.text(2, 'gen') };
      case ScriptStatus.MISS:
        return { kind: 'miss', gen: r.text(1, 'gen'), marker: r.marker(2) };
    }
  }
  throw new UnexpectedScriptReplyError('read-entry', printable(reply));
}

/** Decode a `write-entry` reply. */
export function decodeWrite(reply: unknown): WriteOutcome {
  if (Array.isArray(reply)) {
    if (reply[0] === ScriptStatus.OK && reply[1] !== undefined) {
      return { kind: 'written', gen: new Reply('write-entry', reply).text(1, 'gen') };
    }
    if (reply[0] === ScriptStatus.CONFLICT) return { kind: 'conflict' };
  }
  throw new UnexpectedScriptReplyError('write-entry', printable(reply));
}

/** Decode an `{3, value}` reply (ensure-tag, publish-invalidation). */
export function decodeOk(script: string, reply: unknown): string {
  if (Array.isArray(reply) && reply[0] === ScriptStatus.OK) {
    return reply[1] === undefined ? '' : new Reply(script, reply).text(1, 'value');
  }
  throw new UnexpectedScriptReplyError(script, printable(reply));
}

function printable(reply: unknown): unknown {
  return Array.isArray(reply)
    ? reply.map((item) => (Buffer.isBuffer(item) ? `<${item.length} bytes>` : item))
    : reply;
}
