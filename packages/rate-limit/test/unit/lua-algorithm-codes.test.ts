/**
 * The Lua scripts compare algorithm codes as bare literals ('1' .. '5'), kept in step with the
 * `code` of each TypeScript unit by hand. Every such comparison names its algorithms in a
 * trailing comment, and these tests check the names against the codes, so a renumbering on
 * either side fails here instead of silently running another algorithm.
 */
import { describe, expect, it } from 'vitest';
import { ALGORITHM_NAMES, ALGORITHMS } from '../../src/algorithms/index.js';
import type { AlgorithmName } from '../../src/algorithms/types.js';
import {
  adjustLimits,
  blockLimits,
  checkLimits,
  refundLimits,
} from '../../src/scripts/generated.js';

const codeOf = (name: AlgorithmName) => String(ALGORITHMS[name].code);
const namesIn = (text: string) =>
  ALGORITHM_NAMES.filter((name) => new RegExp(`(^|[^a-z-])${name}($|[^a-z-])`).test(text));
const camel = (name: string) => name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

describe('algorithm codes in the Lua scripts', () => {
  it('the codes are distinct', () => {
    expect(new Set(ALGORITHM_NAMES.map(codeOf)).size).toBe(ALGORITHM_NAMES.length);
  });

  it("check-limits-n's header lists each code with its name", () => {
    const listed = /algorithm \(([^)]*)\)/.exec(checkLimits.lua)?.[1] ?? '';
    const pairs = [...listed.matchAll(/(\d+) ([a-z-]+)/g)].map((m) => [m[2], m[1]]);
    expect(Object.fromEntries(pairs)).toEqual(
      Object.fromEntries(ALGORITHM_NAMES.map((name) => [name, codeOf(name)])),
    );
  });

  it('check-limits-n has one branch per algorithm, each under its code', () => {
    const branches = [...checkLimits.lua.matchAll(/if code == '(\d+)' then -- ([a-z-]+)\n/g)];
    expect(branches.map((m) => m[2]).sort()).toEqual([...ALGORITHM_NAMES].sort());
    for (const [, code, name] of branches) expect(code, name).toBe(codeOf(name as AlgorithmName));
  });

  it.each([checkLimits, blockLimits])(
    '$name: every comparison with a code names its algorithms',
    ({ lua }) => {
      const lines = lua.split('\n').filter((line) => /[=~]= '\d+'/.test(line));
      expect(lines.length).toBeGreaterThan(0);
      for (const line of lines) {
        const codes = [...line.matchAll(/[=~]= '(\d+)'/g)].map((m) => m[1]);
        const comment = line.slice(line.lastIndexOf('--'));
        expect(line.includes('--'), line).toBe(true);
        expect(namesIn(comment).map(codeOf).sort(), line).toEqual([...new Set(codes)].sort());
      }
    },
  );

  it.each([refundLimits, adjustLimits])('$name indexes its functions by code', ({ lua }) => {
    const table = /local algorithms = \{ ([^}]*) \}/.exec(lua)?.[1]?.split(', ') ?? [];
    expect(table).toHaveLength(ALGORITHM_NAMES.length);
    for (const name of ALGORITHM_NAMES) {
      expect(table.indexOf(camel(name)) + 1, name).toBe(ALGORITHMS[name].code);
    }
  });
});
