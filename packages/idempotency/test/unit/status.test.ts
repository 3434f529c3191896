import { UnexpectedScriptReplyError } from '@keel/core';
import { describe, expect, it } from 'vitest';
import { FenceCode, ScriptStatus } from '../../src/index.js';
import { CorruptRecordError, decodeAcquire, decodeTransition } from '../../src/status.js';

describe('script replies', () => {
  it('decode every acquire status', () => {
    expect(decodeAcquire([ScriptStatus.CLAIMED])).toEqual({ kind: 'claimed' });
    expect(decodeAcquire([ScriptStatus.TAKEN_OVER, 7])).toEqual({
      kind: 'taken-over',
      expiredMsAgo: 7,
    });
    expect(
      decodeAcquire([ScriptStatus.REPLAY, 201, Buffer.from('{"etag":"x"}'), Buffer.from([0, 1])]),
    ).toEqual({
      kind: 'replay',
      response: { status: 201, headers: { etag: 'x' }, body: Buffer.from([0, 1]) },
    });
    expect(decodeAcquire([ScriptStatus.NOT_STORED, 200])).toEqual({
      kind: 'not-stored',
      status: 200,
    });
    expect(decodeAcquire([ScriptStatus.IN_FLIGHT, 1500])).toEqual({
      kind: 'in-flight',
      retryAfterMs: 1500,
    });
    expect(decodeAcquire([ScriptStatus.MISMATCH])).toEqual({ kind: 'mismatch' });
  });

  it('decode transitions and fence reasons', () => {
    expect(decodeTransition('x', [ScriptStatus.OK])).toEqual({ ok: true });
    expect(decodeTransition('x', [ScriptStatus.FENCED, FenceCode.GONE])).toEqual({
      ok: false,
      reason: 'gone',
    });
    expect(decodeTransition('x', [ScriptStatus.FENCED, FenceCode.TAKEN_OVER])).toEqual({
      ok: false,
      reason: 'taken-over',
    });
    expect(decodeTransition('x', [ScriptStatus.FENCED, FenceCode.COMPLETED])).toEqual({
      ok: false,
      reason: 'completed',
    });
  });

  it('turn anything else into UnexpectedScriptReplyError (a bug or a version skew)', () => {
    expect(() => decodeAcquire([42])).toThrow(UnexpectedScriptReplyError);
    expect(() => decodeAcquire('OK')).toThrow(UnexpectedScriptReplyError);
    expect(() => decodeTransition('release-claim', [ScriptStatus.FENCED, 9])).toThrow(
      /release-claim/,
    );
  });

  it('report a record whose stored fields cannot be read as corrupt data, not as a bug', () => {
    const body = Buffer.alloc(0);
    const corrupt = [
      [ScriptStatus.REPLAY, 200, Buffer.from('not json'), body],
      [ScriptStatus.REPLAY, 200, Buffer.from('["a"]'), body],
      [ScriptStatus.REPLAY, 200, Buffer.from('{"etag":1}'), body],
      // A missing status (Lua's tonumber gave nil) cuts the reply short.
      [ScriptStatus.REPLAY],
      [ScriptStatus.REPLAY, 200, Buffer.from('{}')],
      [ScriptStatus.REPLAY, 42, Buffer.from('{}'), body],
      [ScriptStatus.NOT_STORED],
      [ScriptStatus.CORRUPT, Buffer.from('lease')],
    ];
    for (const reply of corrupt) {
      expect(() => decodeAcquire(reply), JSON.stringify(reply)).toThrow(CorruptRecordError);
    }
    expect(() => decodeAcquire([ScriptStatus.CORRUPT, Buffer.from('lease')])).toThrow(
      /lease cannot be read/,
    );
  });

  it('keep the JSON parser’s error as the cause of unreadable headers', () => {
    let caught: unknown;
    try {
      decodeAcquire([ScriptStatus.REPLAY, 200, Buffer.from('not json'), Buffer.alloc(0)]);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(CorruptRecordError);
    expect(caught).toMatchObject({
      message: expect.stringMatching(/headers are not JSON/),
      cause: expect.any(SyntaxError),
    });
  });
});
