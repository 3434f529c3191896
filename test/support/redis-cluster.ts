import { Redis } from 'ioredis';
import { freePort } from './free-port.js';
import { isAddressInUse, type RedisServer, startRedisServer } from './redis-server.js';

/** Options for {@link startRedisCluster}. */
export interface RedisClusterOptions {
  /** Number of masters; the 16384 slots are split evenly between them. @default 3 */
  masters?: number;
  /** Replicas per master. @default 0 */
  replicasPerMaster?: 0 | 1;
  /** Extra `redis-server` arguments for every node. */
  args?: string[];
}

/** A Redis Cluster made of harness-owned processes. */
export interface RedisClusterHandle {
  /** Masters first, then replicas. */
  readonly nodes: RedisServer[];
  /** `masters[i]` owns the i-th slice of the slot space. */
  readonly masters: RedisServer[];
  /** `replicas[i]` replicates `masters[i % masters.length]`. */
  readonly replicas: RedisServer[];
  /** Addresses to hand to `new Cluster(startupNodes)`. */
  readonly startupNodes: { host: string; port: number }[];
  /** Stops every node and removes their directories. */
  stop(): Promise<void>;
}

const SLOTS = 16384;
const FORM_TIMEOUT_MS = 30_000;

// The cluster bus port is set explicitly (`--cluster-port`) because port+10000 overflows for
// ports the OS hands out from the ephemeral range. A replica syncs at once instead of waiting
// the default 5 s for more replicas to share a diskless transfer, and CLUSTER SLOTS only lists
// a replica once its replication offset is non-zero, which on an idle master takes one
// replication ping: every 1 s instead of the default 10 s.
const CLUSTER_ARGS = [
  ...['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf'],
  ...['--cluster-node-timeout', '2000', '--cluster-allow-reads-when-down', 'no'],
  ...['--repl-diskless-sync-delay', '0', '--repl-ping-replica-period', '1'],
];

/**
 * Starts `masters × (1 + replicasPerMaster)` cluster-enabled servers and forms a cluster
 * through plain commands (CLUSTER ADDSLOTSRANGE / MEET / REPLICATE), so no `redis-cli` is
 * needed. Resolves once every node reports `cluster_state:ok`, every node sees the same slot
 * map (replicas included) and every replica's link to its master is up.
 */
export async function startRedisCluster(
  opts: RedisClusterOptions = {},
): Promise<RedisClusterHandle> {
  const masterCount = opts.masters ?? 3;
  const replicasPerMaster = opts.replicasPerMaster ?? 0;
  if (!Number.isInteger(masterCount) || masterCount < 1 || masterCount > SLOTS) {
    throw new RangeError(`masters must be an integer in 1..${SLOTS}, got ${masterCount}`);
  }
  const total = masterCount * (1 + replicasPerMaster);
  const settled = await Promise.allSettled(
    Array.from({ length: total }, () => startClusterNode(opts.args ?? [])),
  );
  const started = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = settled.find((r) => r.status === 'rejected');
  if (failed) {
    await Promise.all(started.map(({ server }) => server.stop()));
    throw failed.reason;
  }

  const nodes = started.map(({ server }) => server);
  try {
    await formCluster(started, masterCount);
  } catch (error) {
    await Promise.all(nodes.map((node) => node.stop()));
    throw error;
  }
  return {
    nodes,
    masters: nodes.slice(0, masterCount),
    replicas: nodes.slice(masterCount),
    startupNodes: nodes.map(({ host, port }) => ({ host, port })),
    stop: async () => {
      await Promise.all(nodes.map((node) => node.stop()));
    },
  };
}

interface ClusterNodeProcess {
  server: RedisServer;
  busPort: number;
}

async function startClusterNode(extraArgs: string[]): Promise<ClusterNodeProcess> {
  for (let attempt = 1; ; attempt++) {
    const busPort = await freePort();
    try {
      const args = [...CLUSTER_ARGS, '--cluster-port', String(busPort), ...extraArgs];
      return { server: await startRedisServer({ args }), busPort };
    } catch (error) {
      if (attempt < 3 && isAddressInUse(error)) continue;
      throw error;
    }
  }
}

async function formCluster(nodes: ClusterNodeProcess[], masterCount: number): Promise<void> {
  const clients = nodes.map(({ server }) => adminClient(server));
  try {
    const masters = clients.slice(0, masterCount);
    const replicas = clients.slice(masterCount);

    // Distinct config epochs up front, as redis-cli does, so nodes need not resolve collisions.
    await Promise.all(
      masters.map(async (client, i) => {
        const first = Math.floor((i * SLOTS) / masterCount);
        const last = Math.floor(((i + 1) * SLOTS) / masterCount) - 1;
        await client.call('CLUSTER', 'SET-CONFIG-EPOCH', i + 1);
        await client.call('CLUSTER', 'ADDSLOTSRANGE', first, last);
      }),
    );

    // Every pair meets directly: waiting for gossip to introduce them takes seconds.
    await Promise.all(
      nodes.flatMap(({ server, busPort }, j) =>
        clients
          .slice(0, j)
          .map((client) => client.call('CLUSTER', 'MEET', server.host, server.port, busPort)),
      ),
    );
    await pollUntil('every node knows every other node', async () => {
      const views = await Promise.all(clients.map((c) => c.call('CLUSTER', 'NODES')));
      const ok = views.every((view) => {
        const lines = String(view).trim().split('\n');
        return lines.length === nodes.length && !/handshake|noaddr/.test(String(view));
      });
      return ok || `CLUSTER NODES views:\n${views.join('\n')}`;
    });

    const masterIds = await Promise.all(masters.map((c) => c.call('CLUSTER', 'MYID')));
    await Promise.all(
      replicas.map((client, i) =>
        client.call('CLUSTER', 'REPLICATE', String(masterIds[i % masterCount])),
      ),
    );

    await pollUntil('cluster_state:ok with one slot map on every node', async () => {
      const infos = await Promise.all(clients.map((c) => c.call('CLUSTER', 'INFO')));
      const healthy = infos.every((info) => {
        const text = String(info);
        return (
          text.includes('cluster_state:ok') &&
          text.includes(`cluster_slots_assigned:${SLOTS}`) &&
          text.includes(`cluster_known_nodes:${nodes.length}`)
        );
      });
      if (!healthy) return `CLUSTER INFO:\n${infos.join('\n')}`;
      const maps = await Promise.all(clients.map((c) => slotMap(c)));
      const agreed = maps.every((map) => map === maps[0]);
      return (
        (agreed && replicaCount(maps[0]!) === replicas.length) ||
        `slot maps:\n${maps.join('\n--\n')}`
      );
    });

    await pollUntil('every replica linked to its master', async () => {
      const infos = await Promise.all(replicas.map((c) => c.info('replication')));
      const ok = infos.every(
        (i) => i.includes('role:slave') && i.includes('master_link_status:up'),
      );
      return ok || `INFO replication:\n${infos.join('\n')}`;
    });
  } finally {
    for (const client of clients) client.disconnect();
  }
}

function adminClient(server: RedisServer): Redis {
  const client = new Redis({
    host: server.host,
    port: server.port,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
  });
  client.on('error', () => {}); // failures surface as rejected commands
  return client;
}

/** CLUSTER SLOTS reduced to "first-last:master,replica…" lines, sorted, as one string. */
async function slotMap(client: Redis): Promise<string> {
  const slots = (await client.call('CLUSTER', 'SLOTS')) as [
    number,
    number,
    ...[string, number][],
  ][];
  return slots
    .map(([first, last, ...owners]) => {
      const ports = owners.map(([, port]) => port);
      const [master, ...replicas] = ports;
      return `${first}-${last}:${master},${replicas.sort((a, b) => a - b).join(',')}`;
    })
    .sort()
    .join('\n');
}

function replicaCount(map: string): number {
  return map
    .split('\n')
    .map((line) => line.split(':')[1]!.split(',').slice(1).filter(Boolean).length)
    .reduce((a, b) => a + b, 0);
}

/** Polls `check` until it returns true; any other result describes what is still missing. */
async function pollUntil(what: string, check: () => Promise<true | string>): Promise<void> {
  const deadline = performance.now() + FORM_TIMEOUT_MS;
  let last = '';
  while (performance.now() < deadline) {
    try {
      const result = await check();
      if (result === true) return;
      last = result;
    } catch (error) {
      last = String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(
    `Redis Cluster did not reach "${what}" within ${FORM_TIMEOUT_MS} ms; last seen:\n${last}`,
  );
}
