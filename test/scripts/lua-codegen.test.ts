import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { generate, scriptDirs } from '../../scripts/lua-codegen.js';

const root = new URL('../..', import.meta.url).pathname;
let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function scriptsDir(files: Record<string, string>): string {
  dir = mkdtempSync(join(tmpdir(), 'keel-lua-'));
  const scripts = join(dir, 'scripts');
  mkdirSync(join(scripts, 'include'), { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(scripts, name), text);
  return scripts;
}

describe('Lua code generation', () => {
  it('every committed generated.ts matches its .lua files', () => {
    for (const scripts of scriptDirs(root)) {
      expect(
        readFileSync(join(scripts, 'generated.ts'), 'utf8'),
        `${scripts} is stale: run pnpm gen:lua`,
      ).toBe(generate(scripts));
    }
  });

  it('emits one constant per script with its key count', () => {
    const out = generate(
      scriptsDir({
        'lock-release-1.lua': '--[[ KEYS[1] lock ]]\nreturn redis.call("GET", KEYS[1])',
      }),
    );
    expect(out).toContain('export const lockRelease: LuaScript = {');
    expect(out).toContain("name: 'lock-release',");
    expect(out).toContain('numberOfKeys: 1,');
  });

  it('refuses a file name whose key count disagrees with the script', () => {
    expect(() =>
      generate(scriptsDir({ 'x-do-1.lua': '--[[ ]]\nreturn {KEYS[1], KEYS[2]}' })),
    ).toThrow(/file name says 1 keys, script uses KEYS\[2\]/);
  });

  it('marks a -n.lua script as variadic, with the fewest keys it reads', () => {
    const out = generate(
      scriptsDir({
        'limits-check-n.lua':
          '--[[ KEYS[1..n] ]]\nfor i = 1, #KEYS do redis.call("GET", KEYS[i]) end',
      }),
    );
    expect(out).toContain("name: 'limits-check',\n  numberOfKeys: 0,\n  variadicKeys: true,");
  });

  it('refuses a -n.lua script that does not loop over #KEYS', () => {
    expect(() => generate(scriptsDir({ 'x-do-n.lua': '--[[ ]]\nreturn KEYS[1]' }))).toThrow(
      /must loop over #KEYS/,
    );
  });

  it('expands an --#include line into the fragment, indented as the line', () => {
    const out = generate(
      scriptsDir({
        'x-do-2.lua': '--[[ ]]\nif true then\n  --#include include/part.lua\nend\n',
        'include/part.lua': 'local a = KEYS[2]\n\nreturn a\n',
      }),
    );
    expect(out).toContain(
      JSON.stringify('--[[ ]]\nif true then\n  local a = KEYS[2]\n\n  return a\nend\n'),
    );
    // The fragment's keys count toward the script's.
    expect(out).toContain('numberOfKeys: 2,');
  });

  it('refuses an --#include of a missing file, or inside a fragment', () => {
    expect(() =>
      generate(scriptsDir({ 'x-do-0.lua': '--[[ ]]\n--#include include/none.lua\n' })),
    ).toThrow(/--#include include\/none.lua: no such file/);
    expect(() =>
      generate(
        scriptsDir({
          'x-do-0.lua': '--[[ ]]\n--#include include/a.lua\n',
          'include/a.lua': '--#include include/b.lua\n',
        }),
      ),
    ).toThrow(/a fragment includes nothing/);
  });

  it('requires the header comment', () => {
    expect(() => generate(scriptsDir({ 'x-do-1.lua': 'return KEYS[1]' }))).toThrow(
      /--\[\[ \]\] header/,
    );
  });
});
