/**
 * One bench server in its own child process (`node --import tsx bench/servers/<file>`, under
 * `taskset -c <core>` when pinned). The runner keeps every child it started in one registry and
 * kills them by PID at the end, on error, on Ctrl-C and — as a last resort — synchronously in
 * the process 'exit' hook. The child reports its own CPU time on request (see
 * servers/support/announce.ts).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';

const START_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 3_000;
const LOG_TAIL_CHARS = 4096;
const CPU_TIMEOUT_MS = 10_000;

/** CPU time a process has used so far, µs (user + system, every thread). */
export interface CpuTime {
  userUs: number;
  systemUs: number;
}

export interface ServerProcess {
  readonly name: string;
  readonly pid: number;
  readonly port: number;
  /** The last few KB of the child's stdout/stderr, for error messages. */
  logTail(): string;
  isRunning(): boolean;
  /** The child's `process.cpuUsage()`, asked over its stdin and answered on its stdout. */
  cpuUsage(): Promise<CpuTime>;
  /** SIGTERM, then SIGKILL after a grace period; resolves once the process has exited. */
  stop(): Promise<void>;
}

const running = new Map<number, ChildProcess>();
let exitHookInstalled = false;

function track(child: ChildProcess, pid: number): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', killAllNow);
  }
  running.set(pid, child);
  child.once('exit', () => running.delete(pid));
}

/** Synchronous last resort: SIGKILL every child still running. */
export function killAllNow(): void {
  for (const pid of running.keys()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
}

export async function startServer(
  name: string,
  serverFile: string,
  opts: { cwd: string; env: NodeJS.ProcessEnv; core?: number },
): Promise<ServerProcess> {
  const file = path.join(opts.cwd, 'bench', 'servers', serverFile);
  const argv = [process.execPath, '--import', 'tsx', file];
  // `core`: run under `taskset -c <core>`, which execs node, so the PID is node's and every
  // thread it starts inherits the mask.
  if (opts.core !== undefined) argv.unshift('taskset', '-c', String(opts.core));
  // stdin stays an open pipe: the server exits when it closes, i.e. when the runner dies.
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: opts.cwd,
    env: opts.env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let log = '';
  const append = (text: string) => {
    log = (log + text).slice(-LOG_TAIL_CHARS);
  };
  child.stderr?.on('data', (chunk: Buffer) => append(chunk.toString('utf8')));
  child.stdin?.on('error', () => {});

  const pid = await new Promise<number>((resolve, reject) => {
    child.once('spawn', () => resolve(child.pid ?? -1));
    child.once('error', reject);
  });
  track(child, pid);

  const alive = () => child.exitCode === null && child.signalCode === null;
  const cpuWaiters: Array<(cpu: CpuTime) => void> = [];
  const onCpuLine = (line: string): boolean => {
    if (!line.startsWith('{"cpu":')) return false;
    const [userUs, systemUs] = (JSON.parse(line) as { cpu: [number, number] }).cpu;
    cpuWaiters.shift()?.({ userUs, systemUs });
    return true;
  };
  const server: Omit<ServerProcess, 'port'> = {
    name,
    pid,
    logTail: () => log,
    isRunning: alive,
    cpuUsage() {
      return new Promise<CpuTime>((resolve, reject) => {
        if (!alive()) {
          reject(new Error(`${name} exited:\n${log}`));
          return;
        }
        const timer = setTimeout(() => {
          const i = cpuWaiters.indexOf(done);
          if (i >= 0) cpuWaiters.splice(i, 1);
          reject(new Error(`${name} did not report its CPU time within ${CPU_TIMEOUT_MS} ms`));
        }, CPU_TIMEOUT_MS);
        const done = (cpu: CpuTime) => {
          clearTimeout(timer);
          resolve(cpu);
        };
        cpuWaiters.push(done);
        child.stdin!.write('cpu\n');
      });
    },
    async stop() {
      if (!alive()) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      process.kill(pid, 'SIGTERM');
      const timer = setTimeout(() => {
        if (alive()) process.kill(pid, 'SIGKILL');
      }, STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    },
  };

  try {
    const port = await waitForPort(child, append, onCpuLine);
    return { ...server, port };
  } catch (error) {
    await server.stop();
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`bench server ${name} (${serverFile}) did not start: ${message}\n${log}`);
  }
}

/**
 * Reads stdout lines until one is `{"port":N}`; keeps reading afterwards, handing `{"cpu":…}`
 * lines to `onCpuLine` and everything else to the log.
 */
function waitForPort(
  child: ChildProcess,
  append: (text: string) => void,
  onCpuLine: (line: string) => boolean,
): Promise<number> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (error: Error | null, port = 0) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.off('exit', onExit);
      if (error) reject(error);
      else resolve(port);
    };
    const timer = setTimeout(
      () => finish(new Error(`no {"port":N} line within ${START_TIMEOUT_MS} ms`)),
      START_TIMEOUT_MS,
    );
    const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
      finish(new Error(`exited during startup (${signal ?? `code ${code}`})`));
    child.once('exit', onExit);
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      if (onCpuLine(line)) return;
      append(`${line}\n`);
      if (settled || !line.startsWith('{')) return;
      try {
        const parsed = JSON.parse(line) as { port?: unknown };
        if (typeof parsed.port === 'number' && parsed.port > 0) finish(null, parsed.port);
      } catch {}
    });
  });
}
