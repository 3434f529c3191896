import { readFileSync } from 'node:fs';
import { isKeelError, type KeelError, problemFromError } from '@keel/core';
import { describe, expect, it } from 'vitest';
import {
  codes,
  LockBusyError,
  LockLostError,
  LockQuorumError,
  LockUnavailableError,
} from '../../src/index.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const tally = { quorum: 2, nodes: 3, granted: 1, busy: 0, failed: 2 };

describe('lock errors', () => {
  const cases: [KeelError, string, number][] = [
    [new LockBusyError('r', 3, 1200), codes.LOCK_BUSY, 409],
    [new LockQuorumError('r', tally, []), codes.LOCK_QUORUM, 503],
    [new LockUnavailableError('r', 'acquire', new Error('down')), codes.LOCK_UNAVAILABLE, 503],
    [new LockLostError('r', 'expired', 7), codes.LOCK_LOST, 409],
  ];

  it('every class carries its registry code, status and problem type', () => {
    for (const [error, code, status] of cases) {
      expect(error.code).toBe(code);
      expect(error.status).toBe(status);
      expect(error.type).toBe(
        `urn:keel:problem:${code.replace('KEEL_ERR_', '').toLowerCase().replaceAll('_', '-')}`,
      );
      expect(error.name).toBe(error.constructor.name);
      expect(isKeelError(error)).toBe(true);
      expect(problemFromError(error)).toMatchObject({ status, code });
    }
  });

  it('the registry is frozen, unique, covered by a class each, and documented in the README', () => {
    expect(Object.isFrozen(codes)).toBe(true);
    const values = Object.values(codes);
    expect(new Set(values).size).toBe(values.length);
    expect(new Set(cases.map(([error]) => error.code))).toEqual(new Set(values));
    for (const code of values) expect(readme).toContain(code);
    for (const [error] of cases) expect(readme).toContain(error.name);
  });

  it('says what the caller can act on', () => {
    const busy = new LockBusyError('invoice:7', 3, 1200);
    expect(busy.message).toBe(
      'Lock "invoice:7" is held by another owner (3 attempts); it expires in 1200 ms unless renewed',
    );
    expect(busy.retryAfterMs).toBe(1200);
    const quorum = new LockQuorumError('r', tally, [new Error('ECONNREFUSED')], 'why');
    expect(quorum.message).toContain('1 of 3 nodes granted, 2 needed; 0 busy, 2 failed');
    expect(quorum.tally).toEqual(tally);
    const cause = new Error('ETIMEDOUT');
    expect(new LockUnavailableError('r', 'release', cause).cause).toBe(cause);
    const lost = new LockLostError('r', 'taken', 9);
    expect(lost.fencingToken).toBe(9);
    expect(lost.message).toContain('another owner holds it now');
  });
});
