import { randomUUID } from 'node:crypto';
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import { afterAll, inject, onTestFinished } from 'vitest';
import type { ClusterNodeAddress, SentinelConfig } from './provided-context.js';

/** URL of the shared standalone Redis (from global-setup.ts). */
export function redisUrl(): string {
  return inject('redisUrl');
}

/** Startup nodes of the shared 3-master cluster (from global-setup.ts). */
export function clusterNodes(): ClusterNodeAddress[] {
  return inject('clusterNodes');
}

/** The shared Sentinel topology (from global-setup.ts): ioredis's `{ sentinels, name }`. */
export function sentinelConfig(): SentinelConfig {
  return inject('sentinel');
}

/**
 * An ioredis client to the master of the shared Sentinel topology, found through its
 * sentinels, resolved once it is `ready`. Closed automatically like {@link createTestRedis}.
 */
export async function createTestSentinel(opts: RedisOptions = {}): Promise<Redis> {
  const client = new Redis({ ...sentinelConfig(), ...opts });
  client.on('error', () => {});
  closeWhenDone(client);
  if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
  return client;
}

/** Options for {@link createTestRedis}: ioredis options plus where to connect. */
export interface TestRedisOptions extends RedisOptions {
  /** Server to connect to, e.g. a fault proxy's or a harness server's `url`. @default redisUrl() */
  url?: string;
}

/**
 * An ioredis client to the shared standalone Redis (or `opts.url`), with ioredis defaults
 * unless overridden.
 *
 * Closed automatically, no `quit()` needed:
 * - created inside a test, `beforeEach` or `afterEach`: when that test finishes;
 * - created in a `describe` body or at file level: after that suite (`afterAll`);
 * - created in a `beforeAll`/`afterAll` hook: at the end of the test file.
 * Closing never hangs, whatever the state: a `lazyConnect` client that never connected, one
 * the test already closed, or one stuck behind a blackholed proxy.
 */
export function createTestRedis(opts: TestRedisOptions = {}): Redis {
  const { url = redisUrl(), ...options } = opts;
  const client = new Redis(url, options);
  // Tests that provoke connection errors assert on command results; without a listener ioredis
  // would also print every one as an "Unhandled error event".
  client.on('error', () => {});
  closeWhenDone(client);
  return client;
}

/**
 * An ioredis Cluster client to the shared cluster, resolved once it is `ready` (immediately
 * with `lazyConnect: true`). Closed automatically like {@link createTestRedis}.
 */
export async function createTestCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const cluster = new Cluster(clusterNodes(), { ...opts, redisOptions: { ...opts.redisOptions } });
  cluster.on('error', () => {});
  closeWhenDone(cluster);
  if (!opts.lazyConnect) await untilReady(cluster);
  return cluster;
}

/**
 * Closes a client without ever hanging: QUIT when it is connected (up to 1 s, so a blackholed
 * connection cannot stall the test), then a hard disconnect, then waits (up to 1 s) for its
 * socket to close.
 */
export async function closeClient(client: Redis | Cluster): Promise<void> {
  if (client.status === 'end') return;
  const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
  if (client.status === 'ready') {
    await withTimeout(
      client.quit().catch(() => {}),
      1_000,
    );
  }
  // Between reconnect attempts there is no socket left to close: disconnect() just cancels
  // the next attempt and ioredis never reaches 'end', so there is nothing to wait for.
  const idle = client.status === 'reconnecting' || client.status === 'close';
  client.disconnect();
  if (!idle) await withTimeout(ended, 1_000);
}

function withTimeout(promise: Promise<unknown>, ms: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A fresh key prefix per test, `keel-test:<uuid>:`, with no hash-tag braces. */
export function testPrefix(): string {
  return `keel-test:${randomUUID()}:`;
}

/**
 * Deletes every key starting with `prefix` and returns how many were deleted. Uses SCAN (on a
 * Cluster, on every master) and per-key UNLINKs, never FLUSHALL or multi-slot commands.
 */
export async function cleanupPrefix(client: Redis | Cluster, prefix: string): Promise<number> {
  if (prefix.length === 0) throw new Error('cleanupPrefix needs a non-empty prefix');
  const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
  const nodes = client instanceof Cluster ? client.nodes('master') : [client];
  const counts = await Promise.all(nodes.map((node) => unlinkMatching(node, pattern)));
  return counts.reduce((a, b) => a + b, 0);
}

async function unlinkMatching(node: Redis, pattern: string): Promise<number> {
  let deleted = 0;
  let cursor = '0';
  do {
    // Buffers, so keys that are not valid UTF-8 are deleted too.
    const [next, keys] = await node.scanBuffer(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next.toString();
    if (keys.length === 0) continue;
    const pipeline = node.pipeline();
    for (const key of keys) pipeline.unlink(key);
    for (const [error, count] of (await pipeline.exec()) ?? []) {
      if (error) throw error;
      deleted += Number(count);
    }
  } while (cursor !== '0');
  return deleted;
}

// Every client created here that is not closed yet: the file-level safety net below closes
// whatever the per-test and per-suite hooks did not (e.g. clients created in beforeAll).
const open = new Set<Redis | Cluster>();

try {
  // Registered while the importing test file is being collected, so it runs when that file
  // ends (vitest evaluates this module once per test file unless `isolate: false`).
  afterAll(async () => {
    await Promise.all([...open].map((client) => closeClient(client)));
  });
} catch {
  // Imported outside a vitest test file (a script, a bench): no safety net needed there.
}

function closeWhenDone(client: Redis | Cluster): void {
  open.add(client);
  client.once('end', () => open.delete(client));
  const close = () => closeClient(client);
  try {
    onTestFinished(close);
  } catch {
    // Not inside a test. In a describe body or at file level this ties the client to that
    // suite; in a beforeAll/afterAll it is a no-op (vitest ignores hooks added while running)
    // and the file-level safety net closes the client instead.
    afterAll(close);
  }
}

function untilReady(cluster: Cluster, timeoutMs = 10_000): Promise<void> {
  if (cluster.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (error?: Error) => {
      clearTimeout(timer);
      cluster.off('ready', onReady);
      cluster.off('end', onEnd);
      if (error) reject(error);
      else resolve();
    };
    const onReady = () => done();
    const onEnd = () => done(new Error('Redis Cluster connection ended before it was ready'));
    const timer = setTimeout(
      () =>
        done(new Error(`Redis Cluster not ready after ${timeoutMs} ms (status ${cluster.status})`)),
      timeoutMs,
    );
    cluster.once('ready', onReady);
    cluster.once('end', onEnd);
  });
}
