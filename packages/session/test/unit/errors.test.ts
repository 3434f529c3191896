import { readFileSync } from 'node:fs';
import { isKeelError } from '@keel/core';
import {
  codes,
  SessionClearRefusedError,
  SessionConflictError,
  SessionIdError,
  SessionNotMountedError,
  SessionPeerMissingError,
} from '@keel/session';
import { describe, expect, it } from 'vitest';

describe('session errors', () => {
  it('every registered code has its class, and every class a registered code', () => {
    const errors = [
      new SessionIdError('a b'),
      new SessionClearRefusedError(),
      new SessionConflictError(5),
      new SessionPeerMissingError('express-session'),
      new SessionNotMountedError('saveSession(req)'),
    ];
    expect(errors.map((e) => e.code).sort()).toEqual(Object.values(codes).sort());
    for (const error of errors) {
      expect(isKeelError(error)).toBe(true);
      expect(error.type).toMatch(/^urn:keel:problem:session-/);
    }
    expect(Object.isFrozen(codes)).toBe(true);
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    for (const error of errors) {
      const row = new RegExp(
        `\\|\\s*\`${error.code}\`\\s*\\|\\s*\`${error.name}\`\\s*\\|\\s*${error.status}\\s*\\|`,
      );
      expect(readme, `README documents ${error.code}`).toMatch(row);
    }
  });
});
