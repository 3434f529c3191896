/**
 * After `changeset version` bumps each package.json, copies the new version into the package's
 * `src/version.ts`, which names its Redis scripts (`keel:rl:<script>:<version>`) and its
 * OpenTelemetry scope. Run by `pnpm version-packages`; test/packaging/manifests.test.ts fails
 * when the two disagree, so a hand edit of either one is caught too.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const VERSION_LINE = /^export const VERSION = '[^']*';$/m;

const root = new URL('..', import.meta.url).pathname;
for (const name of readdirSync(join(root, 'packages'))) {
  const file = join(root, 'packages', name, 'src/version.ts');
  if (!existsSync(file)) continue;
  const { version } = JSON.parse(
    readFileSync(join(root, 'packages', name, 'package.json'), 'utf8'),
  ) as { version: string };
  const source = readFileSync(file, 'utf8');
  if (!VERSION_LINE.test(source)) {
    throw new Error(`${file} has no \`export const VERSION = '…';\` line to update`);
  }
  const updated = source.replace(VERSION_LINE, `export const VERSION = '${version}';`);
  if (updated !== source) {
    writeFileSync(file, updated);
    console.log(`${name}: VERSION = '${version}'`);
  }
}
