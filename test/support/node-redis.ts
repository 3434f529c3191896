/**
 * node-redis (`redis` ≥ 5, installed as the `redis-5` alias) clients for the client matrix
 * (issue 20): the same shared servers as the ioredis factories, closed the same way.
 */
import { createClient, createCluster, type RedisClientOptions } from 'redis-5';
import { afterAll, onTestFinished } from 'vitest';
import { clusterNodes, redisUrl } from './clients.js';

export type NodeRedisClient = ReturnType<typeof createClient>;
export type NodeRedisCluster = ReturnType<typeof createCluster>;

/** Options for {@link createTestNodeRedis}: node-redis options plus where to connect. */
export interface TestNodeRedisOptions extends RedisClientOptions {
  /** Server to connect to, e.g. a fault proxy's `url`. @default redisUrl() */
  url?: string;
  /** Connect before resolving. @default true */
  connect?: boolean;
}

/**
 * A node-redis client to the shared standalone Redis (or `opts.url`), with node-redis defaults
 * unless overridden, connected unless `connect: false`. Closed when the test (or the suite, or
 * the file, as with createTestRedis) is done.
 */
export async function createTestNodeRedis(
  opts: TestNodeRedisOptions = {},
): Promise<NodeRedisClient> {
  const { url = redisUrl(), connect = true, ...options } = opts;
  const client = createClient({ url, ...options }) as NodeRedisClient;
  // Tests that provoke connection errors assert on results; node-redis emits each as 'error'.
  client.on('error', () => {});
  closeWhenDone(() => closeNodeRedis(client));
  if (connect) await client.connect();
  return client;
}

/** A node-redis Cluster client to the shared 3-master cluster, connected. */
export async function createTestNodeCluster(): Promise<NodeRedisCluster> {
  const cluster = createCluster({
    rootNodes: clusterNodes().map(({ host, port }) => ({ url: `redis://${host}:${port}` })),
  }) as NodeRedisCluster;
  cluster.on('error', () => {});
  closeWhenDone(async () => {
    if (cluster.isOpen) await cluster.close().catch(() => cluster.destroy());
  });
  await cluster.connect();
  return cluster;
}

async function closeNodeRedis(client: NodeRedisClient): Promise<void> {
  if (!client.isOpen) return;
  // close() waits for pending replies: never longer than a second (a blackholed proxy).
  const timer = new Promise((resolve) => setTimeout(resolve, 1000).unref());
  await Promise.race([client.close().catch(() => {}), timer]);
  if (client.isOpen) client.destroy();
}

function closeWhenDone(close: () => Promise<void>): void {
  try {
    onTestFinished(close);
  } catch {
    afterAll(close);
  }
}
