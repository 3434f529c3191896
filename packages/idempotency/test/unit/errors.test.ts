import { readFileSync } from 'node:fs';
import { isKeelError, problemFromError } from '@keel/core';
import { describe, expect, it } from 'vitest';
import {
  codes,
  IdempotencyBodyTooDeepError,
  IdempotencyKeyInvalidError,
  IdempotencyKeyMissingError,
  IdempotencyKeyReusedError,
  IdempotencyRequestInFlightError,
  IdempotencyResponseNotStoredError,
  IdempotencyScopeError,
} from '../../src/index.js';

const instances = [
  [new IdempotencyKeyMissingError(), 400],
  [new IdempotencyKeyInvalidError('bad'), 400],
  [new IdempotencyRequestInFlightError(3), 409],
  [new IdempotencyKeyReusedError(), 422],
  [new IdempotencyResponseNotStoredError(201), 410],
  [new IdempotencyScopeError('undefined'), 500],
  [new IdempotencyBodyTooDeepError(100), 400],
] as const;

describe('error registry', () => {
  it('has one class per code, each with its HTTP status and a problem type', () => {
    expect(Object.isFrozen(codes)).toBe(true);
    expect(instances.map(([e]) => e.code).sort()).toEqual(Object.values(codes).sort());
    for (const [error, status] of instances) {
      expect(isKeelError(error)).toBe(true);
      expect(error.name).toBe(error.constructor.name);
      expect(error.status).toBe(status);
      expect(error.code).toMatch(/^KEEL_ERR_IDEMPOTENCY_/);
      expect(problemFromError(error)).toMatchObject({ status, code: error.code, type: error.type });
    }
  });

  it('documents every code in the README', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    for (const code of Object.values(codes)) expect(readme).toContain(code);
  });
});
