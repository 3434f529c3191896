import { Redis } from 'ioredis';
import type { TestProject } from 'vitest/node';
import type { ClusterNodeAddress, SentinelConfig } from './provided-context.js';
import { startRedisCluster } from './redis-cluster.js';
import { startRedisSentinel } from './redis-sentinel.js';
import { startRedisServer } from './redis-server.js';

/**
 * vitest globalSetup: runs once per run, in the main process, before any test file.
 *
 * - standalone: `REDIS_URL` when set (checked with a PING), otherwise a fresh `redis-server`;
 * - cluster: always a fresh 3-master cluster without replicas;
 * - sentinel: always a fresh master with 2 replicas and 3 sentinels (for the conformance
 *   suites; failover tests start topologies of their own, since they break them).
 *
 * All are started in parallel and handed to tests through `provide` (read them with
 * `redisUrl()` / `clusterNodes()` from ./clients.js). The returned teardown stops only what
 * this setup started.
 */
export async function setup(project: TestProject): Promise<() => Promise<void>> {
  const owned: { stop(): Promise<void> }[] = [];
  const own = <T extends { stop(): Promise<void> }>(handle: T): T => {
    owned.push(handle);
    return handle;
  };
  const teardown = async () => {
    await Promise.all(owned.map((handle) => handle.stop()));
  };

  const external = process.env.REDIS_URL;
  const standalone = external
    ? checkExternalRedis(external).then(() => external)
    : startRedisServer().then((server) => own(server).url);
  const cluster = startRedisCluster({ masters: 3, replicasPerMaster: 0 }).then(own);
  const sentinel = startRedisSentinel().then(own);

  // Wait for all before judging, so a failure of one never leaves another running.
  const failure = (await Promise.allSettled([standalone, cluster, sentinel])).find(
    (result) => result.status === 'rejected',
  );
  if (failure) {
    await teardown();
    throw failure.reason;
  }

  project.provide('redisUrl', await standalone);
  project.provide('clusterNodes', (await cluster).startupNodes satisfies ClusterNodeAddress[]);
  const { sentinels, name } = await sentinel;
  project.provide('sentinel', { sentinels, name } satisfies SentinelConfig);
  return teardown;
}

async function checkExternalRedis(url: string): Promise<void> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 5_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  // ioredis reports the socket error (ECONNREFUSED…) as an event, the rejection only says
  // "Connection is closed".
  let socketError: unknown;
  client.on('error', (error) => {
    socketError = error;
  });
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    throw new Error(
      `REDIS_URL=${redact(url)} is set but that Redis does not answer: ${String(socketError ?? error)}`,
    );
  } finally {
    client.disconnect();
  }
}

function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<unparseable URL>';
  }
}
