import { describe, expect, it } from 'vitest';
import { assertKnownOptions, KeelOptionError, validatorFor } from '../../src/index.js';

const v = validatorFor('rateLimit');

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(KeelOptionError);
    return (error as Error).message;
  }
  throw new Error('expected a KeelOptionError');
}

describe('option validation', () => {
  it('names the option, the value received and what is allowed', () => {
    expect(message(() => v.positiveInteger('windowMs', -5, undefined, 'milliseconds'))).toBe(
      'rateLimit: option "windowMs" must be an integer >= 1 (milliseconds), got -5',
    );
    expect(message(() => v.oneOf('failurePolicy', 'opne', ['open', 'closed'] as const))).toBe(
      'rateLimit: option "failurePolicy" must be one of "open", "closed", got "opne"',
    );
    expect(message(() => v.integerInRange('ipv6Subnet', 65, 56, 32, 64))).toContain(
      'an integer between 32 and 64, got 65',
    );
    expect(message(() => v.func('keyGenerator', 'ip'))).toContain('must be a function, got "ip"');
  });

  it('returns the value, or the default for undefined', () => {
    expect(v.positiveInteger('limit', undefined, 10)).toBe(10);
    expect(v.positiveInteger('limit', 3, 10)).toBe(3);
    expect(v.boolean('legacyHeaders', undefined, true)).toBe(true);
    expect(v.oneOf('mode', undefined, ['a', 'b'] as const, 'b')).toBe('b');
    expect(v.positiveNumber('rate', 0.5)).toBe(0.5);
  });

  it('rejects non-integers, NaN and Infinity', () => {
    for (const bad of [1.5, Number.NaN, Number.POSITIVE_INFINITY, '10', null]) {
      expect(() => v.positiveInteger('limit', bad)).toThrow(KeelOptionError);
    }
  });

  it('catches unknown options with a suggestion', () => {
    expect(
      message(() => assertKnownOptions('rateLimit', { windowMS: 1 }, ['windowMs', 'limit'])),
    ).toBe(
      'rateLimit: unknown option "windowMS" (did you mean "windowMs"?); known options are windowMs, limit',
    );
    expect(() =>
      assertKnownOptions('rateLimit', { limit: 1 }, ['windowMs', 'limit']),
    ).not.toThrow();
    expect(() => assertKnownOptions('rateLimit', 'x' as never, ['limit'])).toThrow(
      'options must be an object',
    );
  });

  it('the error names the option path', () => {
    try {
      v.positiveInteger('limit', 0);
    } catch (error) {
      expect((error as KeelOptionError).option).toBe('rateLimit.limit');
    }
  });
});
