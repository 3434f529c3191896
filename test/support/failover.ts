import type { Cluster, Redis } from 'ioredis';
import type { RedisClusterHandle } from './redis-cluster.js';
import {
  adminClient,
  currentMaster,
  info,
  pollUntil,
  type RedisSentinelHandle,
} from './redis-sentinel.js';
import type { RedisServer } from './redis-server.js';

/**
 * How a failover is forced: `graceful` is the operator's switch (`SENTINEL FAILOVER`, or
 * `CLUSTER FAILOVER` on a replica); `kill` is a crash (SIGKILL of the master, which stays down).
 */
export type FailoverKind = 'graceful' | 'kill';

export interface FailoverResult {
  /** The master before. */
  from: RedisServer;
  /** The replica promoted in its place. */
  to: RedisServer;
  /** From the command (or the kill) until the new master served as such, ms. */
  tookMs: number;
}

const FAILOVER_TIMEOUT_MS = 20_000;

/** Options of a forced failover. */
export interface FailoverOptions {
  /**
   * `kill` only: first cut the replicas off for this long — they sleep (`DEBUG SLEEP`), the
   * master drops their links (`CLIENT KILL TYPE replica`) — and kill the master halfway
   * through. What it acknowledged in that half never reached a replica: the loss a crash can
   * cause, made certain (on one host, the replication stream otherwise arrives as fast as the
   * replies, and a crash loses nothing). @default 0
   */
  replicaLagMs?: number;
}

/**
 * Cuts `replicas` off `master` for `ms`: they sleep (so they cannot reconnect), the master
 * drops their links. Resolves halfway through.
 */
async function cutOff(master: RedisServer, replicas: readonly RedisServer[], ms: number) {
  for (const node of replicas) {
    const client = adminClient(node);
    client.call('DEBUG', 'SLEEP', ms / 1000).finally(() => client.disconnect());
  }
  const client = adminClient(master);
  try {
    await client.call('CLIENT', 'KILL', 'TYPE', 'replica');
  } finally {
    client.disconnect();
  }
  await new Promise((resolve) => setTimeout(resolve, ms / 2));
}

/**
 * Forces a failover of a Sentinel-managed master and resolves once a majority of sentinels
 * names the promoted replica and it reports `role:master`. With `waitForDemotion`, a graceful
 * failover also waits for the old master to become a replica, which Sentinel does about ten
 * seconds later: until then it still accepts writes from clients that have not followed the
 * switch (and discards them when it is demoted).
 */
export async function failoverSentinel(
  handle: RedisSentinelHandle,
  kind: FailoverKind,
  {
    waitForDemotion = false,
    replicaLagMs = 0,
  }: FailoverOptions & { waitForDemotion?: boolean } = {},
): Promise<FailoverResult> {
  const from = await handle.master();
  if (kind === 'kill' && replicaLagMs > 0) {
    const replicas = handle.nodes.filter((n) => n !== from && n.isRunning());
    await cutOff(from, replicas, replicaLagMs);
  }
  const started = performance.now();
  if (kind === 'kill') {
    await from.kill();
  } else {
    const sentinel = adminClient(handle.sentinelServers.find((s) => s.isRunning())!);
    try {
      // Right after another failover, Sentinel may still be reconfiguring replicas (INPROG)
      // or not yet see one fit to promote (NOGOODSLAVE): ask again until it starts.
      await pollUntil(
        'Sentinel accepting SENTINEL FAILOVER',
        async () => (await sentinel.call('SENTINEL', 'FAILOVER', handle.name)) === 'OK' || '?',
        FAILOVER_TIMEOUT_MS,
      );
    } finally {
      sentinel.disconnect();
    }
  }
  let to: RedisServer | undefined;
  await pollUntil(
    'a new master named by the sentinels',
    async () => {
      const named = await currentMaster(handle.sentinelServers, handle.nodes);
      if (named === from) return `still ${from.port}`;
      const role = await info(named, 'replication');
      if (!role.includes('role:master')) return `${named.port} not master yet`;
      to = named;
      return true;
    },
    FAILOVER_TIMEOUT_MS,
  );
  const tookMs = performance.now() - started;
  if (kind === 'graceful' && waitForDemotion) {
    await pollUntil(
      'the old master demoted',
      async () => (await info(from, 'replication')).includes('role:slave') || 'still master',
      FAILOVER_TIMEOUT_MS,
    );
  }
  return { from, to: to!, tookMs };
}

/**
 * Forces a failover of the master `masterIndex` of a Cluster with replicas and resolves once
 * its replica reports `role:master` and every running node reports `cluster_state:ok`.
 */
export async function failoverCluster(
  handle: RedisClusterHandle,
  kind: FailoverKind,
  masterIndex = 0,
  { replicaLagMs = 0 }: FailoverOptions = {},
): Promise<FailoverResult> {
  const from = handle.masters[masterIndex];
  const to = handle.replicas.find((_, i) => i % handle.masters.length === masterIndex);
  if (!from || !to) throw new Error(`no master ${masterIndex} with a replica in this cluster`);
  if (kind === 'kill' && replicaLagMs > 0) await cutOff(from, [to], replicaLagMs);
  const started = performance.now();
  if (kind === 'kill') {
    await from.kill();
  } else {
    const replica = adminClient(to);
    try {
      await replica.call('CLUSTER', 'FAILOVER');
    } finally {
      replica.disconnect();
    }
  }
  await pollUntil(
    'the replica promoted and the cluster ok',
    async () => {
      if (!(await info(to, 'replication')).includes('role:master')) return 'replica not master';
      const states = await Promise.all(
        handle.nodes
          .filter((n) => n.isRunning())
          .map((n) => adminClient(n))
          .map(clusterState),
      );
      return states.every((s) => s === 'ok') || `cluster_state: ${states.join(',')}`;
    },
    FAILOVER_TIMEOUT_MS,
  );
  return { from, to, tookMs: performance.now() - started };
}

/**
 * Starts a killed node again (same port and directory) and resolves once it replicates the
 * master that replaced it: a Cluster node finds its slots taken over and becomes a replica by
 * itself; a Sentinel node is converted by the sentinels. Until then, a master promoted after a
 * crash has no replica, and writes that wait for one (`waitForReplicas`) cannot be confirmed.
 */
export async function rejoinAsReplica(node: RedisServer): Promise<void> {
  await node.restart();
  await pollUntil(
    `${node.port} replicating again`,
    async () => {
      const text = await info(node, 'replication');
      return (text.includes('role:slave') && text.includes('master_link_status:up')) || text;
    },
    FAILOVER_TIMEOUT_MS,
  );
}

async function clusterState(client: Redis): Promise<string> {
  try {
    const text = String(await client.call('CLUSTER', 'INFO'));
    return /cluster_state:(\w+)/.exec(text)?.[1] ?? '?';
  } finally {
    client.disconnect();
  }
}

/**
 * Resolves once every client serves from `to`: a Sentinel client's connection answers from
 * that port, a Cluster client lists it among its masters (and no longer lists `from`).
 */
export async function waitUntilClientsMoved(
  clients: readonly (Redis | Cluster)[],
  { from, to }: Pick<FailoverResult, 'from' | 'to'>,
  timeoutMs = FAILOVER_TIMEOUT_MS,
): Promise<void> {
  await pollUntil(
    `clients serving from ${to.port}`,
    async () => {
      const where = await Promise.all(clients.map((c) => servingFrom(c, from, to)));
      return where.every((w) => w === 'moved') || where.join(',');
    },
    timeoutMs,
  );
}

async function servingFrom(
  client: Redis | Cluster,
  from: RedisServer,
  to: RedisServer,
): Promise<string> {
  if ((client as Cluster).isCluster) {
    const ports = (client as Cluster).nodes('master').map((n) => n.options.port);
    if (ports.includes(to.port) && !ports.includes(from.port)) return 'moved';
    // Nothing else makes an idle Cluster client refresh its slot map.
    await new Promise<void>((resolve) => (client as Cluster).refreshSlotsCache(() => resolve()));
    return `masters ${ports.join('/')}`;
  }
  if (client.status !== 'ready') return client.status;
  const port = /tcp_port:(\d+)/.exec(await (client as Redis).info('server'))?.[1];
  return Number(port) === to.port ? 'moved' : `on ${port}`;
}
