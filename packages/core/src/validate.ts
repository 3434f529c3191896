/**
 * Option validation. A bad option fails at construction with a message that names the option,
 * shows the value it got and says what is allowed, e.g.
 * `rateLimit: option "windowMs" must be a positive integer (milliseconds), got -5`.
 */
import { KeelOptionError } from './errors.js';

/** Render a received value for an error message without dumping huge objects. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return `a function (${value.name || 'anonymous'})`;
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return String(value);
}

/** Build the standard error for `component.option` with `value` and what is allowed. */
export function optionError(
  component: string,
  option: string,
  value: unknown,
  allowed: string,
): KeelOptionError {
  return new KeelOptionError(
    `${component}.${option}`,
    `${component}: option "${option}" must be ${allowed}, got ${describeValue(value)}`,
  );
}

/**
 * Reject options nobody reads: a typo such as `windowMS` must not silently fall back to a
 * default. Suggests the closest known name.
 */
export function assertKnownOptions(
  component: string,
  options: object | undefined,
  known: readonly string[],
): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new KeelOptionError(
      component,
      `${component}: options must be an object, got ${describeValue(options)}`,
    );
  }
  for (const name of Object.keys(options)) {
    if (known.includes(name)) continue;
    const suggestion = closest(name, known);
    throw new KeelOptionError(
      `${component}.${name}`,
      `${component}: unknown option "${name}"${suggestion ? ` (did you mean "${suggestion}"?)` : ''}; known options are ${known.join(', ')}`,
    );
  }
}

function closest(name: string, known: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/**
 * Small typed validators for one component. Each returns the value (or the default when the
 * value is `undefined`) so construction code reads as
 * `const windowMs = v.positiveInteger('windowMs', options.windowMs, 60_000)`.
 */
export function validatorFor(component: string) {
  const fail = (option: string, value: unknown, allowed: string) =>
    optionError(component, option, value, allowed);

  function integer(
    option: string,
    value: unknown,
    fallback: number | undefined,
    { min, max, unit }: { min: number; max?: number; unit?: string },
  ): number {
    if (value === undefined && fallback !== undefined) return fallback;
    const range = max === undefined ? `>= ${min}` : `between ${min} and ${max}`;
    const allowed = `an integer ${range}${unit ? ` (${unit})` : ''}`;
    if (typeof value !== 'number' || !Number.isSafeInteger(value))
      throw fail(option, value, allowed);
    if (value < min || (max !== undefined && value > max)) throw fail(option, value, allowed);
    return value;
  }

  return {
    component,
    fail,
    /** An integer >= 1. */
    positiveInteger: (option: string, value: unknown, fallback?: number, unit?: string) =>
      integer(option, value, fallback, unit === undefined ? { min: 1 } : { min: 1, unit }),
    /** An integer >= 0. */
    nonNegativeInteger: (option: string, value: unknown, fallback?: number, unit?: string) =>
      integer(option, value, fallback, unit === undefined ? { min: 0 } : { min: 0, unit }),
    /** An integer within [min, max]. */
    integerInRange: (
      option: string,
      value: unknown,
      fallback: number | undefined,
      min: number,
      max: number,
      unit?: string,
    ) => integer(option, value, fallback, unit === undefined ? { min, max } : { min, max, unit }),
    /** A finite number > 0 (fractions allowed). */
    positiveNumber(option: string, value: unknown, fallback?: number, unit?: string): number {
      if (value === undefined && fallback !== undefined) return fallback;
      if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
        throw fail(option, value, `a finite number > 0${unit ? ` (${unit})` : ''}`);
      }
      return value;
    },
    boolean(option: string, value: unknown, fallback: boolean): boolean {
      if (value === undefined) return fallback;
      if (typeof value !== 'boolean') throw fail(option, value, 'true or false');
      return value;
    },
    /** One of a fixed set of strings. */
    oneOf<const T extends string>(
      option: string,
      value: unknown,
      allowed: readonly T[],
      fallback?: T,
    ): T {
      if (value === undefined && fallback !== undefined) return fallback;
      if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
        throw fail(option, value, `one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`);
      }
      return value as T;
    },
    /** A non-empty string, optionally matching a pattern that is explained in `allowed`. */
    string(
      option: string,
      value: unknown,
      fallback?: string,
      pattern?: { test: RegExp; allowed: string },
    ): string {
      if (value === undefined && fallback !== undefined) return fallback;
      if (typeof value !== 'string' || value.length === 0) {
        throw fail(option, value, pattern?.allowed ?? 'a non-empty string');
      }
      if (pattern && !pattern.test.test(value)) throw fail(option, value, pattern.allowed);
      return value;
    },
    /** A function, or the fallback when undefined. */
    func<F extends (...args: never[]) => unknown>(option: string, value: unknown, fallback?: F): F {
      if (value === undefined && fallback !== undefined) return fallback;
      if (typeof value !== 'function') throw fail(option, value, 'a function');
      return value as F;
    },
    /** An optional function: `undefined` stays `undefined`. */
    optionalFunc<F extends (...args: never[]) => unknown>(
      option: string,
      value: unknown,
    ): F | undefined {
      if (value === undefined) return undefined;
      if (typeof value !== 'function') throw fail(option, value, 'a function or undefined');
      return value as F;
    },
    /** Rejects unknown option names (typos). */
    knownOptions: (options: object | undefined, known: readonly string[]) =>
      assertKnownOptions(component, options, known),
  };
}

export type Validator = ReturnType<typeof validatorFor>;
