import { readFileSync } from 'node:fs';
import { isKeelError } from '@keel/core';
import { codes, OtelPeerMissingError } from '@keel/otel';
import { describe, expect, it } from 'vitest';

describe('@keel/otel errors', () => {
  it('every registered code has its class and a README row, and every class a code', () => {
    const errors = [new OtelPeerMissingError()];
    expect(errors.map((e) => e.code).sort()).toEqual(Object.values(codes).sort());
    expect(Object.isFrozen(codes)).toBe(true);
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    for (const error of errors) {
      expect(isKeelError(error)).toBe(true);
      expect(error.type).toMatch(/^urn:keel:problem:otel-/);
      const row = new RegExp(`\\|\\s*\`${error.code}\`\\s*\\|\\s*\`${error.name}\`\\s*\\|`);
      expect(readme, `README documents ${error.code}`).toMatch(row);
    }
  });
});
