import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mergeJsonText, splitMembers, toFields } from '../../src/fields.js';

describe('session fields', () => {
  it('splits a JSON object into raw members, whatever the values hold', () => {
    expect(splitMembers('{"a":1,"b":"x,}\\"y","c":{"d":[1,{"e":"]"}]},"f":[],"g":null}')).toEqual([
      ['"a"', '1'],
      ['"b"', '"x,}\\"y"'],
      ['"c"', '{"d":[1,{"e":"]"}]}'],
      ['"f"', '[]'],
      ['"g"', 'null'],
    ]);
    expect(splitMembers(' { "a" : true } ')).toEqual([['"a"', 'true']]);
    expect(splitMembers('{}')).toEqual([]);
    for (const bad of ['', '[]', '{"a":', '{"a" 1}', '{"a":1', 'null', '{a:1}']) {
      expect(splitMembers(bad), bad).toBeUndefined();
    }
  });

  it('splits whatever JSON.stringify writes, and merging equals merging the objects', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string(), fc.jsonValue()),
        fc.dictionary(fc.string(), fc.jsonValue()),
        (base, change) => {
          const text = JSON.stringify(base);
          const members = splitMembers(text)!;
          expect(members.map(([name]) => JSON.parse(name))).toEqual(Object.keys(base));
          const changed = [...toFields(change)].map(([n, t]) => [JSON.stringify(n), t] as const);
          const merged = mergeJsonText(text, changed, []);
          expect(JSON.parse(merged!)).toEqual(JSON.parse(JSON.stringify({ ...base, ...change })));
        },
      ),
      { numRuns: 200 },
    );
  });
});
