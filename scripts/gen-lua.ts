/**
 * Writes each package's `src/scripts/generated.ts` from the .lua files beside it, so scripts
 * load the same way in vitest, ESM, CJS and bundlers, without runtime `fs`. Runs before tests
 * and builds. `--check` writes nothing and exits 1 when a generated file is stale.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generate, scriptDirs } from './lua-codegen.js';

const root = new URL('..', import.meta.url).pathname;
const check = process.argv.includes('--check');

let stale = false;
for (const dir of scriptDirs(root)) {
  const target = join(dir, 'generated.ts');
  const output = generate(dir);
  const current = existsSync(target) ? readFileSync(target, 'utf8') : '';
  if (current === output) continue;
  if (check) {
    console.error(`${target} is stale: run pnpm gen:lua`);
    stale = true;
  } else {
    writeFileSync(target, output);
    console.log(`wrote ${target}`);
  }
}
if (stale) process.exit(1);
