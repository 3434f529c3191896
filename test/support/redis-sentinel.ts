import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { freePort } from './free-port.js';
import { type RedisServer, startRedisServer } from './redis-server.js';

/** Options for {@link startRedisSentinel}. */
export interface RedisSentinelOptions {
  /** Replicas of the master. @default 2 */
  replicas?: number;
  /** Sentinel processes; the quorum is a majority of them. @default 3 */
  sentinels?: number;
  /** Sentinel's `down-after-milliseconds`: how long a silent master takes to be declared down. @default 1000 */
  downAfterMs?: number;
  /** Extra `redis-server` arguments for the data nodes (master and replicas). */
  args?: string[];
}

/** Address of one Sentinel, as ioredis's `sentinels` option takes it. */
export interface SentinelAddress {
  host: string;
  port: number;
}

/** A Sentinel-managed master, its replicas and the sentinels watching them, all harness-owned. */
export interface RedisSentinelHandle {
  /** The master's name in Sentinel (`keel`): ioredis's `name` option. */
  readonly name: string;
  /** Addresses to hand to ioredis: `new Redis({ sentinels, name })`. */
  readonly sentinels: SentinelAddress[];
  /** The sentinel processes. */
  readonly sentinelServers: RedisServer[];
  /** The data nodes: the first master first, then its replicas. Roles change with failovers. */
  readonly nodes: RedisServer[];
  /** The data node the sentinels name as master now. */
  master(): Promise<RedisServer>;
  /** Stops every process and removes their directories. */
  stop(): Promise<void>;
}

const NAME = 'keel';
const READY_TIMEOUT_MS = 30_000;

// As for the cluster: a replica syncs at once and reports its offset every second.
const REPLICATION_ARGS = ['--repl-diskless-sync-delay', '0', '--repl-ping-replica-period', '1'];

/**
 * Starts a master, `replicas` replicas and `sentinels` sentinels watching them (quorum: a
 * majority). Every sentinel's config already lists the replicas and the other sentinels (with
 * the ids they will run under), so none of them waits for the hello channel or an INFO period
 * to learn the topology. Resolves once every sentinel sees the master with all its replicas
 * linked and knows every other sentinel.
 */
export async function startRedisSentinel(
  opts: RedisSentinelOptions = {},
): Promise<RedisSentinelHandle> {
  const replicaCount = opts.replicas ?? 2;
  const sentinelCount = opts.sentinels ?? 3;
  const downAfterMs = opts.downAfterMs ?? 1000;
  const args = [...REPLICATION_ARGS, ...(opts.args ?? [])];
  const owned: RedisServer[] = [];
  const own = (server: RedisServer) => {
    owned.push(server);
    return server;
  };
  try {
    const master = own(await startRedisServer({ args }));
    const replicas = await Promise.all(
      Array.from({ length: replicaCount }, async () =>
        own(
          await startRedisServer({
            args: [...args, '--replicaof', master.host, String(master.port)],
          }),
        ),
      ),
    );
    await pollUntil('replicas linked to the master', async () => {
      const infos = await Promise.all(replicas.map((r) => info(r, 'replication')));
      return infos.every((i) => i.includes('master_link_status:up')) || infos.join('\n');
    });
    // "Linked" is not yet "replicating": after a diskless sync, Redis 7 streams writes to a
    // replica only once it has sent its first ACK (up to a second later). A replica promoted
    // before that would lack every write since it linked; WAIT returns once all of them ack.
    await untilReplicated(master, replicaCount);

    const ports = await Promise.all(Array.from({ length: sentinelCount }, () => freePort()));
    const ids = ports.map(() => randomBytes(20).toString('hex'));
    const quorum = Math.floor(sentinelCount / 2) + 1;
    const sentinelServers = await Promise.all(
      ports.map(async (port, i) => {
        const config = [
          `sentinel myid ${ids[i]}`,
          `sentinel monitor ${NAME} ${master.host} ${master.port} ${quorum}`,
          `sentinel down-after-milliseconds ${NAME} ${downAfterMs}`,
          // A failed or aborted failover may be retried after twice this; replicas are
          // reconfigured within it.
          `sentinel failover-timeout ${NAME} 5000`,
          ...replicas.map((r) => `sentinel known-replica ${NAME} ${r.host} ${r.port}`),
          ...ports.flatMap((other, j) =>
            j === i ? [] : [`sentinel known-sentinel ${NAME} 127.0.0.1 ${other} ${ids[j]}`],
          ),
        ].join('\n');
        return own(await startRedisServer({ port, config: `${config}\n`, sentinel: true }));
      }),
    );
    await pollUntil('every sentinel sees the replicas and the other sentinels', async () => {
      const views = await Promise.all(
        sentinelServers.map(async (s) => {
          const client = adminClient(s);
          try {
            const seen = (await client.call('SENTINEL', 'REPLICAS', NAME)) as string[][];
            const peers = (await client.call('SENTINEL', 'SENTINELS', NAME)) as string[][];
            const linked = seen.filter((fields) => flag(fields, 'master-link-status') === 'ok');
            return `${linked.length}/${replicaCount} replicas, ${peers.length}/${sentinelCount - 1} sentinels`;
          } finally {
            client.disconnect();
          }
        }),
      );
      const ready = `${replicaCount}/${replicaCount} replicas, ${sentinelCount - 1}/${sentinelCount - 1} sentinels`;
      return views.every((v) => v === ready) || views.join('; ');
    });

    const nodes = [master, ...replicas];
    return {
      name: NAME,
      sentinels: sentinelServers.map(({ host, port }) => ({ host, port })),
      sentinelServers,
      nodes,
      master: () => currentMaster(sentinelServers, nodes),
      stop: async () => {
        await Promise.all(owned.map((server) => server.stop()));
      },
    };
  } catch (error) {
    await Promise.all(owned.map((server) => server.stop()));
    throw error;
  }
}

async function untilReplicated(master: RedisServer, replicas: number): Promise<void> {
  const client = adminClient(master);
  try {
    await client.set('keel-harness:replicated', '1');
    const acked = Number(await client.call('WAIT', replicas, READY_TIMEOUT_MS));
    if (acked < replicas) {
      throw new Error(`only ${acked} of ${replicas} replicas acknowledged a write`);
    }
  } finally {
    client.disconnect();
  }
}

/** The data node a majority of the running sentinels name as master. */
export async function currentMaster(
  sentinels: readonly RedisServer[],
  nodes: readonly RedisServer[],
): Promise<RedisServer> {
  const ports = await Promise.all(
    sentinels
      .filter((s) => s.isRunning())
      .map(async (s) => {
        const client = adminClient(s);
        try {
          const [, port] = (await client.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', NAME)) as [
            string,
            string,
          ];
          return Number(port);
        } catch {
          return -1;
        } finally {
          client.disconnect();
        }
      }),
  );
  const counts = new Map<number, number>();
  for (const port of ports) counts.set(port, (counts.get(port) ?? 0) + 1);
  const [port] = [...counts.entries()].sort((a, b) => b[1] - a[1])[0] ?? [-1];
  const node = nodes.find((n) => n.port === port);
  if (!node) throw new Error(`no sentinel majority names a harness node as master: ${ports}`);
  return node;
}

/** One field of a SENTINEL REPLICAS/MASTER reply (a flat name, value, … list). */
export function flag(fields: readonly string[], name: string): string | undefined {
  const i = fields.indexOf(name);
  return i >= 0 && i % 2 === 0 ? fields[i + 1] : undefined;
}

/** `INFO <section>` of a harness server over a short-lived connection. */
export async function info(server: RedisServer, section: string): Promise<string> {
  const client = adminClient(server);
  try {
    return await client.info(section);
  } finally {
    client.disconnect();
  }
}

export function adminClient(server: { host: string; port: number }): Redis {
  const client = new Redis({
    host: server.host,
    port: server.port,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    connectTimeout: 1000,
  });
  client.on('error', () => {}); // failures surface as rejected commands
  return client;
}

/** Polls `check` until it returns true; any other result describes what is still missing. */
export async function pollUntil(
  what: string,
  check: () => Promise<true | string>,
  timeoutMs = READY_TIMEOUT_MS,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
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
  throw new Error(`"${what}" not reached within ${timeoutMs} ms; last seen:\n${last}`);
}
