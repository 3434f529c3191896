/**
 * Issue 15: the packages as a user installs them. Every package is built, packed with pnpm,
 * checked with @arethetypeswrong/cli and publint, and installed with npm from the tarballs into
 * a scratch project outside the workspace; then small apps run there against the harness
 * Redis: Express ESM, Koa ESM and a type-checked TypeScript app through the same scenarios (a
 * 429, a replayed POST, a cached hit), and a CommonJS Express app whose express-session session
 * survives a restart. A missing `files` entry, a wrong `exports` path or a dependency declared
 * in the wrong section fails here, not in a user's app.
 */

import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkPackage, createPackageFromTarballData } from '@arethetypeswrong/core';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupPrefix, createTestRedis, redisUrl, testPrefix } from '../support/index.js';
import {
  buildAndPack,
  npmInstall,
  ROOT,
  type RunningApp,
  runIn,
  startApp,
  workspacePackages,
  workspaceVersion,
} from './pack.js';
import { readmeParts } from './readme.js';

const PACKAGES = workspacePackages();
// What the apps and the READMEs' quick starts import besides Keel, at the versions the
// workspace tests with.
const APP_DEPENDENCIES = [
  'express',
  'express-session',
  'koa',
  'koa-session',
  '@koa/bodyparser',
  'ioredis',
  'prom-client',
  '@opentelemetry/api',
  '@types/express',
  '@types/express-session',
  '@types/koa',
  '@types/node',
];
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');

const scratch = mkdtempSync(join(tmpdir(), 'keel-packed-'));
const tarballs = join(scratch, 'tarballs');
const project = join(scratch, 'app');
const prefix = testPrefix();

beforeAll(async () => {
  mkdirSync(tarballs);
  mkdirSync(project);
  await buildAndPack(PACKAGES, tarballs);
  const keel = Object.fromEntries(
    PACKAGES.map(({ manifest, tarball }) => [manifest.name, `file:${join(tarballs, tarball)}`]),
  );
  const manifest = {
    name: 'keel-packed-install',
    private: true,
    type: 'module',
    dependencies: {
      ...keel,
      ...Object.fromEntries(APP_DEPENDENCIES.map((name) => [name, workspaceVersion(name)])),
    },
    // Keel's packages depend on each other by version: these make npm take them from the
    // tarballs too, never from the registry.
    overrides: keel,
  };
  writeFileSync(join(project, 'package.json'), JSON.stringify(manifest, null, 2));
  for (const file of ['express-app.mjs', 'koa-app.mjs', 'session-app.cjs', 'typed-app.ts']) {
    copyFileSync(join(ROOT, 'test/packaging/apps', file), join(project, file));
  }
  copyFileSync(join(project, 'typed-app.ts'), join(project, 'typed-app.cts'));
  await npmInstall(project);
}, 420_000);

afterAll(async () => {
  await cleanupPrefix(createTestRedis(), prefix);
  rmSync(scratch, { recursive: true, force: true });
});

describe('the published shape', () => {
  // In-process rather than through the CLIs: one TypeScript load for all eleven (3 s, not 35 s).
  it.each(PACKAGES.map((pkg) => [pkg.manifest.name, pkg.tarball]))(
    '%s: no problem for @arethetypeswrong (node10, node16 CJS and ESM, bundler) nor publint --strict',
    async (_name, tarball) => {
      const bytes = new Uint8Array(readFileSync(join(tarballs, tarball)));
      const types = await checkPackage(createPackageFromTarballData(bytes));
      expect(types.types, 'declarations found').not.toBe(false);
      const problems = 'problems' in types ? types.problems : [];
      expect(problems.map((problem) => JSON.stringify(problem))).toEqual([]);

      const lint = await publint({
        pack: { tarball: bytes.buffer },
        strict: true,
        level: 'warning',
      });
      expect(lint.messages.map((message) => formatMessage(message, lint.pkg))).toEqual([]);
    },
  );

  it('every module the built files load is a dependency or a peer of its package', () => {
    const undeclared: string[] = [];
    for (const { manifest } of PACKAGES) {
      const installed = join(project, 'node_modules', manifest.name);
      const declared = new Set([
        ...Object.keys(manifest.dependencies ?? {}),
        ...Object.keys(manifest.peerDependencies ?? {}),
      ]);
      for (const file of ['dist/index.js', 'dist/index.cjs']) {
        for (const specifier of loadedModules(readFileSync(join(installed, file), 'utf8'))) {
          if (!declared.has(packageName(specifier))) {
            undeclared.push(`${manifest.name} ${file}: ${specifier}`);
          }
        }
      }
    }
    expect(undeclared).toEqual([]);
  });

  it('every package loads with require() and with import, with the same named exports', async () => {
    const names = JSON.stringify(PACKAGES.map(({ manifest }) => manifest.name));
    const listExports = (load: string) =>
      `const out = {}; for (const name of ${names}) out[name] = Object.keys(${load}).sort(); console.log(JSON.stringify(out));`;
    const cjs = await runIn(project, process.execPath, ['-e', listExports('require(name)')]);
    const esm = await runIn(project, process.execPath, [
      '--input-type=module',
      '-e',
      `${listExports('await import(name)')}`,
    ]);
    const required = JSON.parse(cjs.stdout) as Record<string, string[]>;
    const imported = JSON.parse(esm.stdout) as Record<string, string[]>;
    for (const { manifest } of PACKAGES) {
      expect(required[manifest.name]!.length, manifest.name).toBeGreaterThan(0);
      expect(required[manifest.name], manifest.name).toEqual(imported[manifest.name]);
    }
  });

  it('a TypeScript app type-checks as ESM and as CommonJS under nodenext, and under bundler', async () => {
    // The ESM build also checks every declaration file (skipLibCheck off); the other two look
    // at how the app's imports resolve and type under their settings.
    const base = {
      strict: true,
      target: 'es2022',
      types: ['node'],
      noEmit: true,
      skipLibCheck: true,
    };
    writeFileSync(
      join(project, 'tsconfig.cjs.json'),
      JSON.stringify({
        compilerOptions: { ...base, module: 'nodenext' },
        files: ['typed-app.cts'],
      }),
    );
    writeFileSync(
      join(project, 'tsconfig.bundler.json'),
      JSON.stringify({
        compilerOptions: { ...base, module: 'preserve', moduleResolution: 'bundler' },
        files: ['typed-app.ts'],
      }),
    );
    await Promise.all([
      compileTypedApp(),
      runIn(project, process.execPath, [TSC, '-p', 'tsconfig.cjs.json']),
      runIn(project, process.execPath, [TSC, '-p', 'tsconfig.bundler.json']),
    ]);
  }, 120_000);

  it("every README's Express and Koa quick start type-checks against the installed packages", async () => {
    mkdirSync(join(project, 'readme'), { recursive: true });
    const files: string[] = [];
    for (const { dir } of PACKAGES) {
      for (const framework of ['express', 'koa'] as const) {
        const snippet = readmeParts(dir)[framework];
        expect(snippet, `packages/${dir}/README.md: ### ${framework} quick start`).toBeDefined();
        files.push(`readme/${dir}-${framework}.ts`);
        writeFileSync(join(project, files.at(-1)!), snippet!);
      }
    }
    writeFileSync(
      join(project, 'tsconfig.readme.json'),
      JSON.stringify({
        compilerOptions: { strict: true, target: 'es2022', module: 'nodenext', types: ['node'] },
        files,
      }),
    );
    await runIn(project, process.execPath, [
      TSC,
      '-p',
      'tsconfig.readme.json',
      '--noEmit',
      '--skipLibCheck',
    ]);
  }, 120_000);
});

/** Bare module specifiers a bundled file imports or requires (relative ones cannot occur). */
function loadedModules(code: string): Set<string> {
  const found = new Set<string>();
  const patterns = [
    /\bfrom\s*"([^"]+)"/g,
    /\bimport\s*"([^"]+)"/g,
    /\bimport\(\s*"([^"]+)"\s*\)/g,
    /\brequire\(\s*"([^"]+)"\s*\)/g,
    // Optional peers, loaded lazily through createRequire(...)("name").
    /\bcreateRequire\)?\([^)]*\)\(\s*"([^"]+)"\s*\)/g,
  ];
  for (const pattern of patterns) {
    for (const [, specifier] of code.matchAll(pattern)) {
      if (specifier!.startsWith('node:') || builtinModules.includes(specifier!)) continue;
      found.add(specifier!);
    }
  }
  return found;
}

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

let typedBuild: Promise<unknown> | undefined;
/** Type-checks typed-app.ts as ESM under nodenext and emits it to build/ (once). */
function compileTypedApp(): Promise<unknown> {
  typedBuild ??= (async () => {
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          target: 'es2022',
          module: 'nodenext',
          types: ['node'],
          outDir: 'build',
        },
        files: ['typed-app.ts'],
      }),
    );
    await runIn(project, process.execPath, [TSC, '-p', 'tsconfig.json']);
  })();
  return typedBuild;
}

/** [label, key prefix of its own, how to get the file node runs]. */
const HTTP_APPS: [string, string, () => Promise<string>][] = [
  ['Express (ESM)', 'express', async () => 'express-app.mjs'],
  ['Koa (ESM)', 'koa', async () => 'koa-app.mjs'],
  [
    'Express (TypeScript, built with tsc)',
    'ts',
    async () => {
      await compileTypedApp();
      return 'build/typed-app.js';
    },
  ],
];

describe.each(HTTP_APPS)('%s on the installed packages', (_label, id, appFile) => {
  let app: RunningApp;
  beforeAll(async () => {
    const env = { REDIS_URL: redisUrl(), KEEL_PREFIX: `${prefix}${id}:` };
    app = await startApp(project, await appFile(), env);
  }, 120_000);
  afterAll(() => app?.stop());

  it('answers 429 problem+json once the limit (2) is spent', async () => {
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await request(app.url).get('/limited')).status);
    expect(statuses).toEqual([200, 200, 429]);
    const refused = await request(app.url).get('/limited');
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(refused.headers['retry-after']).toBeDefined();
  });

  it('replays a retried POST with the same Idempotency-Key instead of running it again', async () => {
    const post = () =>
      request(app.url)
        .post('/orders')
        .set('idempotency-key', '"order-1"')
        .send({ items: [7] });
    const first = await post();
    const retry = await post();
    expect(first.status).toBe(201);
    expect(retry.status).toBe(201);
    expect(retry.body).toEqual(first.body);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    const other = await request(app.url)
      .post('/orders')
      .set('idempotency-key', '"order-2"')
      .send({ items: [7] });
    expect(other.body.order).toBe(first.body.order + 1);
  });

  it('serves GETs from the cache once stored, without calling the handler again', async () => {
    const first = await request(app.url).get('/catalogue');
    expect(first.body).toEqual({ originCalls: 1 });
    // The write happens after the response went out: until it lands, a GET joins the fill or
    // finds the entry, but never reaches the handler again.
    const statuses: string[] = [];
    for (let attempt = 0; attempt < 50 && !/; hit/.test(statuses.at(-1) ?? ''); attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 20));
      const again = await request(app.url).get('/catalogue');
      expect(again.body).toEqual({ originCalls: 1 });
      statuses.push(again.headers['cache-status'] ?? '');
    }
    expect(statuses.at(-1)).toMatch(/; hit/);
  });
});

describe('a CommonJS Express app (require, express-session with SessionStore)', () => {
  const env = () => ({ REDIS_URL: redisUrl(), KEEL_PREFIX: `${prefix}cjs:` });
  const running: RunningApp[] = [];
  afterAll(() => Promise.all(running.map((app) => app.stop())));
  const start = async () => {
    const app = await startApp(project, 'session-app.cjs', env());
    running.push(app);
    return app;
  };

  it('keeps a session across a restart of the app', async () => {
    const before = await start();
    const login = await request(before.url).post('/login');
    expect(login.status).toBe(200);
    const cookie = login.headers['set-cookie']!;
    expect((await request(before.url).get('/me').set('cookie', cookie)).body).toEqual({
      user: 'ada',
    });
    await before.stop();

    const after = await start();
    const me = await request(after.url).get('/me').set('cookie', cookie);
    expect(me.status).toBe(200);
    expect(me.body).toEqual({ user: 'ada' });
    expect((await request(after.url).get('/me')).status).toBe(401);
  }, 60_000);

  it('answers 429 once the limit (2) is spent', async () => {
    const app = await start();
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await request(app.url).get('/limited')).status);
    expect(statuses).toEqual([200, 200, 429]);
  }, 30_000);
});
