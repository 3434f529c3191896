/**
 * `pnpm exec tsx bench/rate-limit-consume-cost.ts`: what one rate-limit decision by key costs —
 * Keel's `limiter.consume(key)` beside rate-limiter-flexible's `consume(key)` (issue 21) — as
 * CPU time, not req/s, so a busy machine blurs it less. No HTTP: the decision alone, as a job
 * worker, a websocket handler or a GraphQL resolver makes it.
 *
 * Each row consumes 1 point for keys cycling over `--keys` clients, `--concurrency` calls in
 * flight, against one private redis-server (the same algorithm: a fixed window of 60 s, a limit
 * nobody reaches). Rows run interleaved, in a new random order each round; per row and round:
 * - `node µs`: `process.cpuUsage()` (user + system) per decision, this process's side;
 * - `redis µs`: the server's `used_cpu_user + used_cpu_sys` (INFO cpu) per decision;
 * - `cmds`: Redis commands per decision (INFO commandstats; commands inside scripts count).
 * Each cell is the median over rounds; `× rlf` is the median of the per-round paired ratios to
 * the rate-limiter-flexible row of the same store, with its interquartile range.
 *
 * ```sh
 * pnpm exec tsx bench/rate-limit-consume-cost.ts                 # 7 rounds × 20,000 decisions
 * pnpm exec tsx bench/rate-limit-consume-cost.ts --ops 10000 --rounds 5
 * ```
 */
import { parseArgs } from 'node:util';
import { createRateLimiter, createRedisStore } from '@keel/rate-limit';
import { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible';
import { startRedisServer } from '../test/support/redis-server.js';
import { commandStats, diffCounts, totalCalls } from './lib/redis-stats.js';

const { values } = parseArgs({
  options: {
    ops: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '7' },
    concurrency: { type: 'string', default: '16' },
    keys: { type: 'string', default: '1000' },
  },
});
const OPS = Number(values.ops);
const ROUNDS = Number(values.rounds);
const CONCURRENCY = Number(values.concurrency);
const KEYS = Array.from({ length: Number(values.keys) }, (_, i) => `user-${i}`);
const LIMIT = 1_000_000_000;
/** Decisions the failure policy made instead of Redis: a row with any is not comparable. */
let failures = 0;
const WINDOW_S = 60;

interface Row {
  name: string;
  /** The rate-limiter-flexible row its ratio is taken against. */
  vs: string;
  consume: (key: string) => Promise<unknown>;
  client?: Redis;
}

async function rows(url: string): Promise<Row[]> {
  const connect = () => new Redis(url);
  const rlfClient = connect();
  const keelClient = connect();
  const keel = (algorithm: 'fixed-window' | 'sliding-window' | 'gcra', store: 'redis' | 'memory') =>
    createRateLimiter({
      name: `bench-${algorithm}`,
      limit: LIMIT,
      windowMs: WINDOW_S * 1000,
      algorithm,
      events: (event) => {
        if (event.name === 'rate-limit.store-failure') failures++;
      },
      ...(store === 'redis'
        ? { store: createRedisStore({ client: keelClient, prefix: 'bench:', deadlineMs: 1000 }) }
        : {}),
    });
  const rlfRedis = new RateLimiterRedis({
    storeClient: rlfClient,
    keyPrefix: 'bench:rlf',
    points: LIMIT,
    duration: WINDOW_S,
  });
  const rlfMemory = new RateLimiterMemory({ points: LIMIT, duration: WINDOW_S });
  const fw = keel('fixed-window', 'redis');
  const sw = keel('sliding-window', 'redis');
  const gcra = keel('gcra', 'redis');
  const memory = keel('fixed-window', 'memory');
  const RLF_REDIS = 'rate-limiter-flexible Redis';
  const RLF_MEMORY = 'rate-limiter-flexible memory';
  return [
    { name: RLF_REDIS, vs: RLF_REDIS, consume: (k) => rlfRedis.consume(k), client: rlfClient },
    { name: 'keel Redis fixed-window', vs: RLF_REDIS, consume: (k) => fw.consume(k) },
    { name: 'keel Redis sliding-window', vs: RLF_REDIS, consume: (k) => sw.consume(k) },
    { name: 'keel Redis gcra', vs: RLF_REDIS, consume: (k) => gcra.consume(k), client: keelClient },
    { name: RLF_MEMORY, vs: RLF_MEMORY, consume: (k) => rlfMemory.consume(k) },
    { name: 'keel memory fixed-window', vs: RLF_MEMORY, consume: (k) => memory.consume(k) },
  ];
}

async function drive(row: Row, ops: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < ops) {
        const key = KEYS[next++ % KEYS.length]!;
        await row.consume(key);
      }
    }),
  );
}

async function redisCpuUs(admin: Redis): Promise<number> {
  const info = await admin.info('cpu');
  const field = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1e6;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const quartiles = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.round(q * (s.length - 1)))]!;
  return [at(0.25), at(0.75)] as const;
};

const server = await startRedisServer();
const admin = new Redis(server.url);
try {
  const list = await rows(server.url);
  const samples = new Map(
    list.map((r) => [
      r.name,
      { node: [] as number[], redis: [] as number[], cmds: [] as number[] },
    ]),
  );
  // Warm-up: JIT, script loading, keys created.
  for (const row of list) await drive(row, Math.min(OPS, 5000));
  for (let round = 0; round < ROUNDS; round++) {
    const order = list
      .map((row) => ({ row, key: Math.random() }))
      .sort((a, b) => a.key - b.key)
      .map(({ row }) => row);
    for (const row of order) {
      const before = await commandStats(admin);
      const redisBefore = await redisCpuUs(admin);
      const cpu = process.cpuUsage();
      await drive(row, OPS);
      const used = process.cpuUsage(cpu);
      const redisAfter = await redisCpuUs(admin);
      const diff = diffCounts(before, await commandStats(admin));
      const s = samples.get(row.name)!;
      s.node.push((used.user + used.system) / OPS);
      s.redis.push((redisAfter - redisBefore) / OPS);
      s.cmds.push(totalCalls(diff) / OPS);
    }
  }
  const ratio = (row: Row, field: 'node' | 'redis') => {
    const own = samples.get(row.name)![field];
    const base = samples.get(row.vs)![field];
    const ratios = own.map((v, i) => v / base[i]!);
    const [q1, q3] = quartiles(ratios);
    return `${median(ratios).toFixed(2)}× (${q1.toFixed(2)}–${q3.toFixed(2)})`;
  };
  const lines = [
    `${ROUNDS} rounds × ${OPS} decisions per row, ${CONCURRENCY} in flight, ${KEYS.length} keys; medians over rounds`,
    '',
    '| row | node µs/decision | × rlf | redis µs/decision | × rlf | cmds/decision |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const row of list) {
    const s = samples.get(row.name)!;
    const redisCells = row.name.includes('memory')
      ? '— | —'
      : `${median(s.redis).toFixed(1)} | ${ratio(row, 'redis')}`;
    lines.push(
      `| ${row.name} | ${median(s.node).toFixed(1)} | ${ratio(row, 'node')} | ${redisCells} | ${median(s.cmds).toFixed(1)} |`,
    );
  }
  if (failures > 0)
    lines.push('', `WARNING: ${failures} Keel decisions fell back (store failures)`);
  console.log(lines.join('\n'));
  for (const row of list) row.client?.disconnect();
} finally {
  admin.disconnect();
  await server.stop();
}
