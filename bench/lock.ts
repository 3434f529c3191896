/**
 * `pnpm bench:lock`: uncontended acquire + release pairs per second, @keel/lock against the
 * `redlock` package (v5, the ioredis 5 line), on one Redis and on three independent Redlock
 * nodes. Not an HTTP bench: both libraries run in this one process, on the same ioredis
 * clients, taking turns in short slices, over several rounds; the table reports the median of
 * the per-round ratios. See bench/README.md.
 */
import { parseArgs } from 'node:util';
import { createKeyspace, createRedisClient } from '@keel/core';
import { createLock, type LockManager } from '@keel/lock';
import type { Redis } from 'ioredis';
// @ts-expect-error redlock 5's package.json "exports" has no "types" condition, so NodeNext resolution cannot see its index.d.ts; the few members used are typed below.
import RedlockPackage from 'redlock';
import { type RedisServer, startRedisServer } from '../test/support/redis-server.js';
import { type RedisServerGroup, startRedisServers } from '../test/support/redis-servers.js';

const USAGE = `Usage: pnpm bench:lock [options]

  --duration <s>       measured seconds per library, scenario and round  (default 2)
  --warmup <s>         discarded seconds per library and scenario        (default 0.5)
  --rounds <n>         rounds (one ratio each; the table shows the median) (default 3)
  --concurrency <list> concurrent workers, comma-separated               (default 1,16)
  --slice <ms>         the libraries take turns in slices this long      (default 100)
  --only <single|redlock>  one scenario
  -h, --help

Redis: BENCH_REDIS_URL (or REDIS_URL) for the single-node scenario, BENCH_REDLOCK_URLS
(three comma-separated URLs) for the Redlock one; otherwise private redis-server processes
are started and stopped at the end. Keys live under "keel-bench:" with a TTL.`;

const TTL_MS = 10_000;

interface RedlockInstance {
  on(event: 'error', listener: (error: unknown) => void): void;
  acquire(resources: string[], durationMs: number): Promise<{ release(): Promise<unknown> }>;
}
const Redlock = RedlockPackage as new (
  clients: Redis[],
  settings: { retryCount: number },
) => RedlockInstance;

interface Library {
  name: 'keel' | 'redlock';
  /** One uncontended acquire + release of `resource`. */
  pair(resource: string): Promise<void>;
}

function keel(clients: Redis[]): Library {
  const locks: LockManager = createLock(
    clients.length === 1
      ? { client: clients[0]!, prefix: 'keel-bench:' }
      : { clients, prefix: 'keel-bench:' },
  );
  return {
    name: 'keel',
    async pair(resource) {
      const lock = await locks.acquire(resource, { ttlMs: TTL_MS, retry: { attempts: 1 } });
      await lock.release();
    },
  };
}

function redlock(clients: Redis[]): Library {
  const redlock = new Redlock(clients, { retryCount: 0 });
  // Redlock emits "error" for every failed vote; unhandled, that would crash the process.
  redlock.on('error', () => {});
  return {
    name: 'redlock',
    async pair(resource) {
      const lock = await redlock.acquire([`keel-bench:redlock:${resource}`], TTL_MS);
      await lock.release();
    },
  };
}

/**
 * Pairs per second of each library with `workers` loops, each on its own resource (so nothing
 * contends). The libraries take turns in slices of `sliceMs` until each has run `seconds`: on
 * a busy machine, drift then hits both alike instead of whichever ran second.
 */
async function measure(
  libs: readonly Library[],
  workers: number,
  seconds: number,
  sliceMs: number,
  tag: string,
): Promise<Map<string, number>> {
  const pairs = new Map(libs.map((lib) => [lib.name, 0]));
  const elapsed = new Map(libs.map((lib) => [lib.name, 0]));
  for (let turn = 0; elapsed.get(libs[0]!.name)! < seconds * 1000; turn++) {
    // Rotate which library opens each turn.
    const order = turn % 2 === 0 ? libs : [...libs].reverse();
    for (const lib of order) {
      const started = performance.now();
      const until = started + sliceMs;
      let done = 0;
      await Promise.all(
        Array.from({ length: workers }, async (_, w) => {
          const resource = `${tag}:${lib.name}:${w}`;
          while (performance.now() < until) {
            await lib.pair(resource);
            done++;
          }
        }),
      );
      pairs.set(lib.name, pairs.get(lib.name)! + done);
      elapsed.set(lib.name, elapsed.get(lib.name)! + performance.now() - started);
    }
  }
  return new Map(
    libs.map((lib) => [lib.name, (pairs.get(lib.name)! * 1000) / elapsed.get(lib.name)!]),
  );
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

const spread = (xs: number[]) => (Math.max(...xs) - Math.min(...xs)) / median(xs);

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '2' },
      warmup: { type: 'string', default: '0.5' },
      rounds: { type: 'string', default: '3' },
      concurrency: { type: 'string', default: '1,16' },
      slice: { type: 'string', default: '100' },
      only: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const duration = Number(values.duration);
  const warmup = Number(values.warmup);
  const rounds = Number(values.rounds);
  const concurrency = values.concurrency.split(',').map(Number);
  const sliceMs = Number(values.slice);
  if (
    !(duration > 0 && warmup >= 0 && sliceMs > 0 && Number.isInteger(rounds) && rounds > 0) ||
    !concurrency.every((c) => Number.isInteger(c) && c > 0)
  ) {
    throw new Error(`bad options\n${USAGE}`);
  }
  const scenarios = (['single', 'redlock'] as const).filter(
    (s) => values.only === undefined || values.only === s,
  );

  const owned: (RedisServer | RedisServerGroup)[] = [];
  const clients: Redis[] = [];
  const connect = (url: string) => {
    const client = createRedisClient({ url }) as Redis;
    clients.push(client);
    return client;
  };
  const cleanup: (() => Promise<unknown>)[] = [];
  const stopAll = async () => {
    await Promise.allSettled(cleanup.map((run) => run()));
    for (const client of clients) client.disconnect();
    await Promise.all(owned.map((s) => s.stop()));
  };
  process.once('SIGINT', () => {
    void stopAll().finally(() => process.exit(130));
  });

  try {
    const rows: string[] = [];
    for (const scenario of scenarios) {
      let urls: string[];
      if (scenario === 'single') {
        const external = process.env.BENCH_REDIS_URL ?? process.env.REDIS_URL;
        if (external) urls = [external];
        else {
          const server = await startRedisServer();
          owned.push(server);
          urls = [server.url];
        }
      } else if (process.env.BENCH_REDLOCK_URLS) {
        urls = process.env.BENCH_REDLOCK_URLS.split(',');
      } else {
        const group = await startRedisServers(3);
        owned.push(group);
        urls = group.urls;
      }
      const nodes = urls.map(connect);
      await Promise.all(
        nodes.map((n) =>
          n.status === 'ready' ? undefined : new Promise((resolve) => n.once('ready', resolve)),
        ),
      );
      const libs = [keel(nodes), redlock(nodes)];
      const label = scenario === 'single' ? '1 Redis' : `Redlock, ${nodes.length} nodes`;

      for (const workers of concurrency) {
        const tag = `${scenario}:${workers}`;
        // Fencing counters have no TTL (by design): delete this run's, the Redis may be shared.
        const keyspace = createKeyspace('keel-bench:', 'lock');
        for (let w = 0; w < workers; w++) {
          const fence = keyspace.key(`${tag}:keel:${w}`, 'fence');
          cleanup.push(() => Promise.all(nodes.map((n) => n.del(fence))));
        }
        if (warmup > 0) await measure(libs, workers, warmup, sliceMs, tag);
        const perLib = new Map<string, number[]>(libs.map((l) => [l.name, []]));
        const ratios: number[] = [];
        for (let round = 0; round < rounds; round++) {
          const got = await measure(libs, workers, duration, sliceMs, tag);
          for (const [name, rate] of got) perLib.get(name)!.push(rate);
          ratios.push(got.get('keel')! / got.get('redlock')!);
          process.stderr.write(
            `[bench:lock] ${label}, c=${workers}, round ${round + 1}: keel ${Math.round(got.get('keel')!)}/s, redlock ${Math.round(got.get('redlock')!)}/s\n`,
          );
        }
        const k = perLib.get('keel')!;
        const r = perLib.get('redlock')!;
        rows.push(
          `| ${label} | ${workers} | ${Math.round(median(k))} | ${Math.round(median(r))} | ` +
            `${median(ratios).toFixed(2)}× | ${(100 * Math.max(spread(k), spread(r))).toFixed(0)} % |`,
        );
      }
    }
    console.log(
      [
        `acquire + release pairs per second, uncontended (${rounds} rounds × ${duration} s, median)`,
        '',
        '| scenario | workers | @keel/lock | redlock 5 | ratio | ± |',
        '| --- | ---: | ---: | ---: | ---: | ---: |',
        ...rows,
      ].join('\n'),
    );
  } finally {
    await stopAll();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
