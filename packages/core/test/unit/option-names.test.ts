import { describe, expect, it } from 'vitest';
import { assertKnownOptions, KeelOptionError, optionNames } from '../../src/index.js';

interface Options {
  windowMs?: number;
  limit: number;
}

describe('optionNames', () => {
  it('lists the names in the order written, which is the order errors list them in', () => {
    const known = optionNames<Options>({ windowMs: true, limit: true });
    expect(known).toEqual(['windowMs', 'limit']);
    expect(() => assertKnownOptions('rateLimit', { windowMS: 1 }, known)).toThrow(
      new KeelOptionError(
        'rateLimit.windowMS',
        'rateLimit: unknown option "windowMS" (did you mean "windowMs"?); known options are windowMs, limit',
      ),
    );
  });

  it('is a type error to leave an option out or to name one the type lacks', () => {
    // @ts-expect-error `limit` is missing: a new option must be listed.
    optionNames<Options>({ windowMs: true });
    // @ts-expect-error `max` is not an option: a stale name must go.
    optionNames<Options>({ windowMs: true, limit: true, max: true });
  });

  it('composes: a shared base plus the names of the rest of the options', () => {
    interface Wider extends Options {
      burst?: number;
    }
    const base = optionNames<Options>({ windowMs: true, limit: true });
    const known = [...base, ...optionNames<Omit<Wider, keyof Options>>({ burst: true })];
    expect(known).toEqual(['windowMs', 'limit', 'burst']);
  });
});
