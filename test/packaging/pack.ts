/**
 * What test/packaging needs to treat the packages as a user gets them: build them when their
 * `dist` is older than their source, pack them with pnpm (which applies `publishConfig` and
 * turns `workspace:*` into versions, as `pnpm publish` does), install the tarballs with npm into
 * a scratch project outside the workspace, and run small apps there as child processes.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);

export interface WorkspacePackage {
  /** Folder under packages/. */
  dir: string;
  manifest: {
    name: string;
    version: string;
    dependencies?: Record<string, string>;
    peerDependencies?: Record<string, string>;
  };
  /** The file `pnpm pack` writes: `keel-rate-limit-0.1.0.tgz`. */
  tarball: string;
}

/** Every package under packages/, as published. */
export function workspacePackages(): WorkspacePackage[] {
  return readdirSync(join(ROOT, 'packages'))
    .filter((dir) => existsSync(join(ROOT, 'packages', dir, 'package.json')))
    .map((dir) => {
      const manifest = JSON.parse(
        readFileSync(join(ROOT, 'packages', dir, 'package.json'), 'utf8'),
      ) as WorkspacePackage['manifest'];
      const tarball = `${manifest.name.replace('@', '').replace('/', '-')}-${manifest.version}.tgz`;
      return { dir, manifest, tarball };
    });
}

/**
 * The environment of a child that must see only the scratch project: pnpm's scripts set
 * NODE_PATH to the whole workspace store (which `require` would search) and npm_config_* that
 * npm would take as its own settings; vitest adds its own variables.
 */
export function isolatedEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (/^(npm_|pnpm_|VITEST|NODE_PATH$|NODE_OPTIONS$)/i.test(name)) continue;
    env[name] = value;
  }
  return { ...env, ...extra };
}

function newestMtime(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

const OUTPUTS = ['index.js', 'index.cjs', 'index.d.ts', 'index.d.cts'];

/** Packages whose dist is missing or older than their source, package.json or the build config. */
export function stalePackages(packages: WorkspacePackage[]): WorkspacePackage[] {
  const config = statSync(join(ROOT, 'tsup.config.ts')).mtimeMs;
  return packages.filter(({ dir }) => {
    const base = join(ROOT, 'packages', dir);
    const outputs = OUTPUTS.map((file) => join(base, 'dist', file));
    if (!outputs.every((file) => existsSync(file))) return true;
    const built = Math.min(...outputs.map((file) => statSync(file).mtimeMs));
    const inputs = [
      join(base, 'src'),
      join(base, 'package.json'),
      join(base, 'tsconfig.build.json'),
    ];
    return Math.max(config, ...inputs.map(newestMtime)) > built;
  });
}

/**
 * Builds what is stale (`pnpm test` has built everything already, so this is for a run of this
 * file alone after an edit), then packs every package into `destination`.
 */
export async function buildAndPack(
  packages: WorkspacePackage[],
  destination: string,
): Promise<void> {
  const stale = stalePackages(packages);
  if (stale.length > 0) {
    const filters = stale.flatMap(({ manifest }) => ['--filter', manifest.name]);
    await runIn(ROOT, 'pnpm', [...filters, 'build'], process.env);
  }
  await runIn(
    ROOT,
    'pnpm',
    ['-r', '--filter', './packages/*', 'pack', '--pack-destination', destination],
    process.env,
  );
}

/** The version of a package installed in the workspace, so the scratch project gets the same. */
export function workspaceVersion(name: string): string {
  const manifest = join(ROOT, 'node_modules', name, 'package.json');
  return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
}

/**
 * `npm install` in `project`. `--prefer-offline` takes what npm's cache already has (only the
 * npm registry is needed, and only for what is not cached yet); `--ignore-scripts` because none
 * of these packages needs an install script.
 */
export async function npmInstall(project: string): Promise<void> {
  await run(
    'npm',
    [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--ignore-scripts',
      '--loglevel=error',
    ],
    { cwd: project, env: isolatedEnv(), timeout: 240_000, maxBuffer: 32 * 1024 * 1024 },
  );
}

/** Runs a command (by default isolated from the workspace); rejects with its output on failure. */
export async function runIn(
  cwd: string,
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = isolatedEnv(),
): Promise<{ stdout: string; stderr: string }> {
  try {
    return await run(command, args, {
      cwd,
      env,
      timeout: 300_000,
      maxBuffer: 32 * 1024 * 1024,
    });
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed:\n${stdout}\n${stderr}`);
  }
}

export interface RunningApp {
  url: string;
  /** Stops the app's process (by its PID) and waits for it to exit. */
  stop(): Promise<void>;
}

/** Starts `node <file>` in `project` and waits (up to 15 s) for its `listening <port>` line. */
export async function startApp(
  project: string,
  file: string,
  env: Record<string, string>,
): Promise<RunningApp> {
  const child = spawn(process.execPath, [file], {
    cwd: project,
    env: isolatedEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stop = () => stopChild(child);
  try {
    const port = await listeningPort(child, file);
    return { url: `http://127.0.0.1:${port}`, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

function listeningPort(child: ChildProcess, file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let output = '';
    const fail = (why: string) => {
      clearTimeout(timer);
      reject(new Error(`${file} ${why}:\n${output}`));
    };
    const timer = setTimeout(() => fail('printed no `listening <port>` within 15 s'), 15_000);
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening (\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    child.once('exit', (code, signal) => fail(`exited (${code ?? signal})`));
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
  await exited;
  clearTimeout(timer);
}
