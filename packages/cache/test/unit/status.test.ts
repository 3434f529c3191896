import { isKeelError, UnexpectedScriptReplyError } from '@keel/core';
import { describe, expect, it } from 'vitest';
import { decodeOk, decodeRead, decodeWrite, ScriptStatus } from '../../src/status.js';

/** The error a decode throws, or a failed test. */
function thrown(decode: () => unknown): UnexpectedScriptReplyError {
  try {
    decode();
  } catch (error) {
    if (error instanceof UnexpectedScriptReplyError) return error;
    throw error;
  }
  throw new Error('the decode did not throw');
}

describe('cache script replies', () => {
  it('decode hits, Vary mismatches and misses', () => {
    const body = Buffer.from([1, 2]);
    expect(decodeRead([ScriptStatus.HIT, '10', 12, Buffer.from('{}'), body, 'g1'])).toEqual({
      kind: 'hit',
      createdAt: 10,
      now: 12,
      meta: '{}',
      body,
      gen: 'g1',
    });
    expect(decodeRead([ScriptStatus.VARY, 'accept', 'g1'])).toEqual({
      kind: 'vary',
      vary: 'accept',
      gen: 'g1',
    });
    expect(decodeRead([ScriptStatus.MISS, '', 'failed'])).toEqual({
      kind: 'miss',
      gen: '',
      marker: 'failed',
    });
    expect(decodeWrite([ScriptStatus.OK, 'g2'])).toEqual({ kind: 'written', gen: 'g2' });
    expect(decodeOk('ensure-tag', [ScriptStatus.OK, 7])).toBe('7');
  });

  it('name the field of the wrong type as the coded error’s cause', () => {
    const error = thrown(() =>
      decodeRead([ScriptStatus.HIT, '10', 12, null, Buffer.alloc(0), 'g']),
    );
    expect(isKeelError(error) && error.code).toBe('KEEL_ERR_UNEXPECTED_SCRIPT_REPLY');
    expect(error.message).toMatch(/read-entry/);
    expect(error.cause).toBeInstanceOf(TypeError);
    expect(String(error.cause)).toMatch(/field 3 \(meta\) is null, not text/);
    expect(String(thrown(() => decodeRead([ScriptStatus.MISS, {}, ''])).cause)).toMatch(
      /field 1 \(gen\) is object/,
    );
  });

  it('turn a write or ok reply of the wrong type into the coded error, not a bare TypeError', () => {
    const write = thrown(() => decodeWrite([ScriptStatus.OK, {}]));
    expect(write.message).toMatch(/write-entry/);
    expect(String(write.cause)).toMatch(/field 1 \(gen\) is object, not text/);
    expect(String(thrown(() => decodeOk('ensure-tag', [ScriptStatus.OK, true])).cause)).toMatch(
      /field 1 \(value\) is boolean/,
    );
  });

  it('leave unknown statuses and non-tuples without a cause', () => {
    expect(thrown(() => decodeRead([42])).cause).toBeUndefined();
    expect(thrown(() => decodeRead('OK')).cause).toBeUndefined();
    expect(thrown(() => decodeWrite([ScriptStatus.HIT])).cause).toBeUndefined();
  });
});
