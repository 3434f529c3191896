/**
 * Issue 15, the cheap half: what every package.json, CHANGELOG and version constant must say
 * for the packed packages to work and for Changesets to version them. packed-install.test.ts
 * checks the result; this names the line to fix without building anything.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, workspacePackages } from './pack.js';
import { codeLines, readmeParts } from './readme.js';

const PACKAGES = workspacePackages();

interface Manifest {
  name: string;
  version: string;
  type?: string;
  exports?: unknown;
  files?: string[];
  scripts?: Record<string, string>;
  publishConfig?: { main?: string; types?: string; exports?: Record<string, unknown> };
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

const read = (dir: string, file: string) => readFileSync(join(ROOT, 'packages', dir, file), 'utf8');
const manifestOf = (dir: string) => JSON.parse(read(dir, 'package.json')) as Manifest;

describe.each(PACKAGES.map(({ dir, manifest }) => [manifest.name, dir]))('%s', (_name, dir) => {
  const manifest = manifestOf(dir);

  it('runs against source in the workspace and publishes dist, ESM and CommonJS, each with its types', () => {
    expect(manifest.type).toBe('module');
    expect(manifest.exports).toEqual({ '.': './src/index.ts' });
    expect(manifest.scripts?.build).toBe('tsup --config ../../tsup.config.ts');
    expect(manifest.publishConfig).toEqual({
      main: './dist/index.cjs',
      types: './dist/index.d.cts',
      exports: {
        '.': {
          import: { types: './dist/index.d.ts', default: './dist/index.js' },
          require: { types: './dist/index.d.cts', default: './dist/index.cjs' },
        },
        './package.json': './package.json',
      },
    });
    expect(manifest.files).toEqual(expect.arrayContaining(['dist', 'README.md', 'CHANGELOG.md']));
  });

  it('depends on other Keel packages through the workspace, and keeps peers optional or framework-only', () => {
    for (const [name, range] of Object.entries(manifest.dependencies ?? {})) {
      if (name.startsWith('@keel/')) expect(range, name).toBe('workspace:*');
    }
    for (const peer of Object.keys(manifest.peerDependencies ?? {})) {
      // The framework an adapter plugs into is the one peer a user must already have.
      const required = ['express', 'koa'].includes(peer);
      expect(manifest.peerDependenciesMeta?.[peer]?.optional === true, peer).toBe(!required);
    }
  });

  it('has a README with an install line and 10-line Express and Koa quick starts', () => {
    const readme = readmeParts(dir);
    expect(readme.install, '## Install').toContain('npm install ');
    expect(readme.install, '## Install').toContain(manifest.name);
    expect(readme.install, 'the peers to add').toMatch(/[Pp]eer/);
    for (const framework of ['express', 'koa'] as const) {
      const snippet = readme[framework];
      expect(
        snippet,
        `### ${framework.replace(/^./, (c) => c.toUpperCase())} under ## Quick start`,
      ).toBeDefined();
      expect(codeLines(snippet!), `${framework} quick start, lines of code`).toBeLessThanOrEqual(
        10,
      );
    }
  });

  it('has a CHANGELOG whose newest entry is the current version', () => {
    const changelog = read(dir, 'CHANGELOG.md');
    expect(changelog.startsWith(`# ${manifest.name}\n`)).toBe(true);
    expect(/^## (\S+)$/m.exec(changelog)?.[1]).toBe(manifest.version);
  });

  it.runIf(existsSync(join(ROOT, 'packages', dir, 'src/version.ts')))(
    'names its scripts with the version in package.json (pnpm version-packages keeps them equal)',
    () => {
      expect(read(dir, 'src/version.ts')).toContain(
        `export const VERSION = '${manifest.version}';`,
      );
    },
  );
});

it('Changesets versions every published package together, and no example', () => {
  const config = JSON.parse(readFileSync(join(ROOT, '.changeset/config.json'), 'utf8')) as {
    fixed: string[][];
    privatePackages: { version: boolean };
  };
  expect(config.fixed).toEqual([['@keel/*']]);
  expect(config.privatePackages.version).toBe(false);
  for (const { manifest } of PACKAGES) expect(manifest.name).toMatch(/^@keel\/[a-z-]+$/);
  const examples = readdirSync(join(ROOT, 'examples'))
    .filter((dir) => existsSync(join(ROOT, 'examples', dir, 'package.json')))
    .map(
      (dir) =>
        JSON.parse(readFileSync(join(ROOT, 'examples', dir, 'package.json'), 'utf8')) as {
          private?: boolean;
        },
    );
  expect(examples.every((example) => example.private === true)).toBe(true);
});
