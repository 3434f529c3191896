import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { accessSync, constants } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { freePort } from './free-port.js';
import { killWithProcess, scratchDir } from './leftovers.js';

/** Options for {@link startRedisServer}. */
export interface RedisServerOptions {
  /** Port to listen on. @default a free port picked by the OS */
  port?: number;
  /** Extra `redis-server` arguments, appended last, e.g. `['--maxmemory', '10mb']`. */
  args?: string[];
  /**
   * Text of a config file, written to `<dir>/redis.conf` and passed first. Sentinel needs one:
   * it rewrites its config file as it learns the topology.
   */
  config?: string;
  /** Start in Sentinel mode (`--sentinel`); needs `config`. @default false */
  sentinel?: boolean;
}

/** One `redis-server` process owned by the test harness. */
export interface RedisServer {
  /** Always `127.0.0.1`: the harness never listens on other interfaces. */
  readonly host: string;
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** PID of the current process; changes after {@link RedisServer.restart}. */
  readonly pid: number;
  /** Private working directory (`--dir`); kept by `kill()`, removed by `stop()`. */
  readonly dir: string;
  /** SIGTERM (SIGKILL after 5 s), wait for the exit, remove {@link RedisServer.dir}. */
  stop(): Promise<void>;
  /** SIGKILL and wait for the exit; keeps the directory so `restart()` finds nodes.conf. */
  kill(): Promise<void>;
  /** SIGSTOP: the port still accepts connections but nothing is answered. */
  pause(): void;
  /** SIGCONT after {@link RedisServer.pause}. */
  resume(): void;
  /** Start again on the same port, dir and arguments (terminating first if still running). */
  restart(): Promise<void>;
  isRunning(): boolean;
  /** The last few KB of the server's stdout/stderr, for error messages. */
  logTail(): string;
}

/** Thrown when a server cannot be started; the message carries the server's output tail. */
export class RedisServerStartError extends Error {
  constructor(
    message: string,
    readonly logTail = '',
  ) {
    super(logTail ? `${message}\n--- redis-server output (tail) ---\n${logTail}` : message);
    this.name = new.target.name;
  }
}

const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 5_000;
const LOG_TAIL_BYTES = 4096;
const MISSING_BINARY =
  'redis-server is not installed: run `apt-get install -y redis-server` (Debian) — ' +
  "Keel's tests need a real Redis and never skip";

/**
 * Starts a real `redis-server` on 127.0.0.1 with no persistence and a private temp dir, and
 * resolves once it answers (as itself, not another process on the port).
 *
 * `--enable-debug-command local` is set so fault tests can use `DEBUG SLEEP` to make the
 * server slow without stopping it.
 */
export async function startRedisServer(opts: RedisServerOptions = {}): Promise<RedisServer> {
  const bin = redisServerBinary();
  const dir = await mkdtemp(path.join(scratchDir(), 'redis-'));
  const leading: string[] = [];
  if (opts.config !== undefined) {
    const file = path.join(dir, 'redis.conf');
    await writeFile(file, opts.config);
    leading.push(file);
  }
  const trailing = [...(opts.args ?? []), ...(opts.sentinel ? ['--sentinel'] : [])];
  for (let attempt = 1; ; attempt++) {
    const port = opts.port ?? (await freePort(HOST));
    const server = new ManagedRedisServer(bin, port, dir, trailing, leading);
    try {
      await server.start();
      return server;
    } catch (error) {
      // Another process may grab a port between freePort() and the bind: pick another one.
      if (opts.port === undefined && attempt < 3 && isAddressInUse(error)) continue;
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
  }
}

/** True when a start failed because a port (client or cluster bus) was already taken. */
export function isAddressInUse(error: unknown): boolean {
  return error instanceof RedisServerStartError && /address already in use/i.test(error.message);
}

// Looked up on every start (a few stat calls) so a test can check the missing-binary error.
function redisServerBinary(): string {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, 'redis-server');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  throw new Error(MISSING_BINARY);
}

class ManagedRedisServer implements RedisServer {
  readonly host = HOST;
  #child: ChildProcess | undefined;
  #pid = -1;
  #paused = false;
  #log = '';

  constructor(
    private readonly bin: string,
    readonly port: number,
    readonly dir: string,
    private readonly extraArgs: string[],
    private readonly leadingArgs: string[] = [],
  ) {}

  get url(): string {
    return `redis://${this.host}:${this.port}`;
  }

  get pid(): number {
    return this.#pid;
  }

  isRunning(): boolean {
    return isAlive(this.#child);
  }

  logTail(): string {
    return this.#log;
  }

  async start(): Promise<void> {
    if (this.isRunning()) throw new Error(`redis-server on port ${this.port} is already running`);
    await mkdir(this.dir, { recursive: true });
    this.#log = '';
    this.#paused = false;
    const args = [
      ...this.leadingArgs,
      ...['--port', String(this.port), '--bind', this.host],
      ...['--save', '', '--appendonly', 'no', '--dir', this.dir],
      ...['--enable-debug-command', 'local'],
      ...this.extraArgs,
    ];
    const child = spawn(this.bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const spawned = new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    child.stdout?.on('data', (chunk: Buffer) => this.#appendLog(chunk));
    child.stderr?.on('data', (chunk: Buffer) => this.#appendLog(chunk));
    try {
      await spawned;
    } catch (error) {
      throw new RedisServerStartError(`could not spawn ${this.bin}: ${String(error)}`);
    }
    this.#child = child;
    this.#pid = child.pid ?? -1;
    killWithProcess(child);
    // A forgotten server must not keep the test process alive; the exit hook kills it.
    child.unref();
    for (const stream of [child.stdout, child.stderr]) (stream as net.Socket | null)?.unref();

    try {
      await this.#waitUntilReady(child);
    } catch (error) {
      await this.kill();
      throw error;
    }
  }

  async stop(): Promise<void> {
    await this.#terminate();
    await rm(this.dir, { recursive: true, force: true });
  }

  async kill(): Promise<void> {
    const child = this.#child;
    if (!child || !isAlive(child)) return;
    child.kill('SIGKILL');
    await waitForExit(child, STOP_GRACE_MS);
    this.#paused = false;
  }

  pause(): void {
    if (!this.isRunning()) throw new Error(`redis-server on port ${this.port} is not running`);
    process.kill(this.#pid, 'SIGSTOP');
    this.#paused = true;
  }

  resume(): void {
    if (!this.isRunning()) return;
    process.kill(this.#pid, 'SIGCONT');
    this.#paused = false;
  }

  async restart(): Promise<void> {
    await this.#terminate();
    await this.start();
  }

  async #terminate(): Promise<void> {
    const child = this.#child;
    if (!child || !isAlive(child)) return;
    child.kill('SIGTERM');
    // A stopped process only acts on SIGTERM once it is continued.
    if (this.#paused) this.resume();
    if (await waitForExit(child, STOP_GRACE_MS)) return;
    child.kill('SIGKILL');
    await waitForExit(child, STOP_GRACE_MS);
  }

  async #waitUntilReady(child: ChildProcess): Promise<void> {
    const deadline = performance.now() + READY_TIMEOUT_MS;
    while (performance.now() < deadline) {
      if (!isAlive(child)) {
        // 'exit' can precede the last output chunks; give the pipes a moment to drain.
        await Promise.race([once(child, 'close'), sleep(200)]);
        const how =
          child.exitCode !== null ? `code ${child.exitCode}` : `signal ${child.signalCode}`;
        throw new RedisServerStartError(
          `redis-server on port ${this.port} exited during startup (${how})`,
          this.#log,
        );
      }
      if (await answersAs(this.host, this.port, this.#pid)) return;
      await sleep(20);
    }
    throw new RedisServerStartError(
      `redis-server on port ${this.port} did not answer within ${READY_TIMEOUT_MS} ms`,
      this.#log,
    );
  }

  #appendLog(chunk: Buffer): void {
    this.#log = (this.#log + chunk.toString('utf8')).slice(-LOG_TAIL_BYTES);
  }
}

function isAlive(child: ChildProcess | undefined): boolean {
  return child !== undefined && child.exitCode === null && child.signalCode === null;
}

/** Resolves true once `child` has exited, false after `timeoutMs`. */
function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (!isAlive(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    // This timer is ref'd on purpose: it keeps the event loop alive while we wait.
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      resolve(false);
    }, timeoutMs);
    const onExit = () => {
      clearTimeout(timer);
      resolve(true);
    };
    child.once('exit', onExit);
  });
}

/**
 * True once the server listening on `port` is the process `pid`: an inline `INFO server` must
 * report `process_id:<pid>`. A bare PING is not enough, since another server that already
 * holds the port would answer it while ours fails to bind.
 */
function answersAs(host: string, port: number, pid: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    let reply = '';
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.on('connect', () => socket.write('INFO server\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      // A bulk string: "$<length>\r\n<text>\r\n"; an error (e.g. -LOADING) means not ready.
      if (!reply.startsWith('$')) return done(false);
      const header = reply.indexOf('\r\n');
      if (header < 0) return;
      const length = Number(reply.slice(1, header));
      if (reply.length < header + 2 + length) return;
      done(reply.slice(header + 2, header + 2 + length).includes(`process_id:${pid}\r\n`));
    });
    socket.on('error', () => done(false));
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
