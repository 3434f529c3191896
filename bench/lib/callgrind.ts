/**
 * Exact Redis cost: a private `redis-server` run under valgrind's callgrind, so the cost of a
 * call is counted in CPU instructions (`Ir`) rather than timed. Instruction counts move by
 * about 2 % between an idle and a loaded machine (Redis's timer work during a longer run is
 * counted too), against 20–70 % for CPU time on two shared cores. Everything Redis does for a call is counted
 * (reading the command, the script, writing the reply); valgrind's own work is not.
 *
 * Needs `valgrind` (Debian: `apt-get install valgrind`); about 50× slower than native, so
 * a few thousand calls per row.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../../test/support/free-port.js';

export interface CallgrindRedis {
  readonly port: number;
  /** A client to load scripts and prepare keys with. */
  readonly redis: Redis;
  /** Instructions Redis executed per call while `run` sent `calls` calls. */
  instructionsPerCall(run: () => Promise<void>, calls: number): Promise<number>;
  stop(): Promise<void>;
}

export function hasValgrind(): boolean {
  try {
    execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const control = (pid: number, flag: string) =>
  new Promise<void>((resolve, reject) =>
    execFile('callgrind_control', [flag, String(pid)], (e) => (e ? reject(e) : resolve())),
  );

/** The `totals:`/`summary:` line of every dump so far, summed (one file per dump). */
async function totalInstructions(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir)) {
    if (!name.startsWith('callgrind.out')) continue;
    const text = await readFile(path.join(dir, name), 'utf8');
    const line = /^(?:totals|summary): (\d+)/m.exec(text);
    if (line) total += Number(line[1]);
  }
  return total;
}

export async function startCallgrindRedis(): Promise<CallgrindRedis> {
  const dir = await mkdtemp(path.join(tmpdir(), 'keel-callgrind-'));
  const port = await freePort();
  const child: ChildProcess = spawn(
    'valgrind',
    [
      '--tool=callgrind',
      `--callgrind-out-file=${dir}/callgrind.out.%p`,
      'redis-server',
      ...['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      ...['--dir', dir],
    ],
    { stdio: 'ignore' },
  );
  const pid = child.pid!;
  const redis = new Redis({ port, host: '127.0.0.1', retryStrategy: () => 200 });
  await new Promise((resolve) => redis.once('ready', resolve));
  return {
    port,
    redis,
    async instructionsPerCall(run, calls) {
      await control(pid, '-z');
      await run();
      // A dump writes a file of the counts since the zero; removed once read.
      await control(pid, '-d');
      const total = await totalInstructions(dir);
      for (const name of await readdir(dir)) {
        if (name.startsWith('callgrind.out')) await rm(path.join(dir, name));
      }
      return total / calls;
    },
    async stop() {
      redis.disconnect();
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
