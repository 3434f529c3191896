/**
 * `pnpm exec tsx bench/session-cost.ts`: the per-request cost of an express-session store,
 * measured with numbers that a busy machine does not blur — Redis commands and round trips per
 * request, and CPU time per request on the Node side and on the Redis side — rather than req/s.
 *
 * Each "request" replays exactly what express-session 1.x does for the bench routes (see
 * servers/support/session.ts; resave false, saveUninitialized false, rolling false, cookie maxAge
 * 1 h): `store.get()`, `store.createSession()`, then for `read` `session.touch()` +
 * `store.touch()` (the session is unchanged) and for `write` a changed field + `store.set()`.
 * No HTTP: the figures are the store's own cost.
 *
 * Variants run interleaved (in a random order each round) on one private redis-server; per block:
 * - `cmds`: Redis commands per request from `INFO commandstats` (commands run inside Lua count),
 * - `rtt`: commands the client sent per request (MONITOR, a separate short sample),
 * - `node µs`: `process.cpuUsage()` (user + system) per request, median over rounds,
 * - `redis µs`: the server's `used_cpu_user + used_cpu_sys` per request, median over rounds.
 *
 * ```sh
 * pnpm exec tsx bench/session-cost.ts             # 3 rounds × 4000 requests per row
 * pnpm exec tsx bench/session-cost.ts --ops 2000 --rounds 5 --route read --only '=keel,connect'
 * # before/after: the last commit's store as extra rows
 * mkdir -p /tmp/base && git archive HEAD packages/session/src packages/express/src/session-store.ts \
 *   | tar -x -C /tmp/base && ln -s "$PWD/node_modules" /tmp/base/node_modules
 * sed -i "s#from '@keel/session'#from '../../session/src/index.ts'#" \
 *   /tmp/base/packages/express/src/session-store.ts
 * pnpm exec tsx bench/session-cost.ts --baseline /tmp/base/packages/express/src/session-store.ts
 * ```
 */
import { parseArgs } from 'node:util';
import { SessionStore, type SessionStoreOptions } from '@keel/express';
import { RedisStore } from 'connect-redis';
import type { Store } from 'express-session';
import { Redis } from 'ioredis';
import { startRedisServer } from '../test/support/redis-server.js';
import { commandStats, diffCounts, totalCalls } from './lib/redis-stats.js';

const { values } = parseArgs({
  options: {
    ops: { type: 'string', default: '4000' },
    rounds: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '8' },
    only: { type: 'string' },
    baseline: { type: 'string' },
    route: { type: 'string' },
  },
});
const OPS = Number(values.ops);
const ROUNDS = Number(values.rounds);
const CONCURRENCY = Number(values.concurrency);
const MAX_AGE_MS = 3_600_000;
const SID = 'cost-session-id-0123456789abcdef';

type Route = 'read' | 'write';
interface Variant {
  name: string;
  make(client: Redis, prefix: string): Store;
}

const keel =
  (options: Omit<SessionStoreOptions, 'client' | 'prefix'> = {}) =>
  (client: Redis, prefix: string) =>
    new SessionStore({ client, prefix, ...options }) as unknown as Store;

const VARIANTS: Variant[] = [
  {
    name: 'connect-redis',
    make: (client: Redis, prefix: string) => new RedisStore({ client, prefix }) as Store,
  },
  { name: 'keel', make: keel() },
  { name: 'keel touchAfter 60', make: keel({ touchAfter: 60 }) },
  {
    name: 'keel userId+absoluteTtl',
    make: keel({ userId: (s) => (s as { user?: string }).user, absoluteTtl: 86_400 }),
  },
];
if (values.baseline) {
  // Another build of the store (e.g. the last commit's, extracted with git archive) side by side.
  const { SessionStore: Base } = (await import(values.baseline)) as {
    SessionStore: new (options: SessionStoreOptions) => Store;
  };
  VARIANTS.push(
    { name: 'baseline keel', make: (client, prefix) => new Base({ client, prefix }) },
    {
      name: 'baseline keel userId+absoluteTtl',
      make: (client, prefix) =>
        new Base({
          client,
          prefix,
          userId: (s) => (s as { user?: string }).user,
          absoluteTtl: 86_400,
        }),
    },
  );
}
// --only: comma-separated substrings of row names, or `=name` for exactly that row.
const patterns = values.only?.split(',') ?? [];
const SELECTED = VARIANTS.filter(
  (v) =>
    patterns.length === 0 ||
    patterns.some((p) => (p.startsWith('=') ? v.name === p.slice(1) : v.name.includes(p))),
);

const call = <T>(run: (cb: (error?: unknown, value?: T) => void) => void): Promise<T> =>
  new Promise((resolve, reject) =>
    run((error, value) => (error ? reject(error) : resolve(value as T))),
  );

/** One request of `route`, as express-session makes its store calls. */
async function request(store: Store, route: Route): Promise<void> {
  const raw = await call<Record<string, unknown> | null>((cb) => store.get(SID, cb as never));
  if (!raw) throw new Error('session missing');
  const req = { sessionID: SID } as Record<string, unknown>;
  const session = store.createSession(req as never, raw as never) as unknown as {
    touch(): void;
    visits?: number;
  };
  session.touch();
  if (route === 'read') {
    await call((cb) => store.touch!(SID, session as never, cb));
  } else {
    session.visits = (session.visits ?? 0) + 1;
    await call((cb) => store.set(SID, session as never, cb));
  }
}

async function drive(store: Store, route: Route, ops: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < ops) {
        next++;
        await request(store, route);
      }
    }),
  );
}

async function redisCpuUs(admin: Redis): Promise<number> {
  const info = await admin.info('cpu');
  const field = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1e6;
}

/** Commands per request the client sent (not from Lua), from MONITOR over a short sample. */
async function roundTrips(url: string, store: Store, route: Route): Promise<number> {
  const connection = new Redis(url);
  const monitor = await connection.monitor();
  let sent = 0;
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (!source.includes('lua') && args[0]?.toLowerCase() !== 'info') sent++;
  });
  const sample = 50;
  await drive(store, route, sample);
  await new Promise((resolve) => setTimeout(resolve, 100));
  monitor.disconnect();
  connection.disconnect();
  return sent / sample;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const server = process.env.BENCH_REDIS_URL ? undefined : await startRedisServer();
const url = process.env.BENCH_REDIS_URL ?? server!.url;
const admin = new Redis(url);
try {
  const rows = await Promise.all(
    SELECTED.map(async (variant, i) => {
      const client = new Redis(url);
      const prefix = `cost:${i}:`;
      const store = variant.make(client, prefix);
      const cookie = {
        originalMaxAge: MAX_AGE_MS,
        expires: new Date(Date.now() + MAX_AGE_MS),
        httpOnly: true,
        path: '/',
      };
      await call((cb) =>
        store.set(SID, { cookie, user: 'bench-user', visits: 0 } as never, cb as never),
      );
      return { variant, client, store, samples: new Map<Route, Sample[]>() };
    }),
  );
  interface Sample {
    cmds: number;
    nodeUs: number;
    redisUs: number;
    breakdown: Record<string, number>;
  }
  const routes = (['read', 'write'] as const).filter((r) => !values.route || r === values.route);
  for (const row of rows) {
    for (const route of routes) await drive(row.store, route, Math.min(OPS, 500)); // warm-up
  }
  for (let round = 0; round < ROUNDS; round++) {
    // A fresh random order each round: no row always runs right after the same other row.
    const order = rows
      .map((row) => ({ row, key: Math.random() }))
      .sort((a, b) => a.key - b.key)
      .map(({ row }) => row);
    for (const route of routes) {
      for (const row of order) {
        const before = await commandStats(admin);
        const redisBefore = await redisCpuUs(admin);
        const cpu = process.cpuUsage();
        await drive(row.store, route, OPS);
        const used = process.cpuUsage(cpu);
        const redisAfter = await redisCpuUs(admin);
        const diff = diffCounts(before, await commandStats(admin));
        const breakdown = Object.fromEntries(
          Object.entries(diff).map(([name, calls]) => [name, calls / OPS]),
        );
        const list = row.samples.get(route) ?? [];
        list.push({
          cmds: totalCalls(diff) / OPS,
          nodeUs: (used.user + used.system) / OPS,
          redisUs: (redisAfter - redisBefore) / OPS,
          breakdown,
        });
        row.samples.set(route, list);
      }
    }
  }
  const lines = [
    `${OPS} requests × ${ROUNDS} rounds per row, ${CONCURRENCY} concurrent; medians over rounds`,
    '',
    '| store | route | cmds/req | round trips/req | node µs/req | redis µs/req | commands |',
    '| --- | --- | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const row of rows) {
    for (const route of routes) {
      const samples = row.samples.get(route)!;
      const rtt = await roundTrips(url, row.store, route);
      const last = samples[samples.length - 1]!.breakdown;
      const commands = Object.entries(last)
        .sort((a, b) => b[1] - a[1])
        .map(([name, n]) => `${name} ${n.toFixed(2)}`)
        .join(', ');
      lines.push(
        `| ${row.variant.name} | ${route} | ${median(samples.map((s) => s.cmds)).toFixed(2)} | ${rtt.toFixed(2)} | ${median(samples.map((s) => s.nodeUs)).toFixed(1)} | ${median(samples.map((s) => s.redisUs)).toFixed(1)} | ${commands} |`,
      );
    }
  }
  console.log(lines.join('\n'));
  for (const row of rows) row.client.disconnect();
} finally {
  admin.disconnect();
  await server?.stop();
}
