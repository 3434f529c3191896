/**
 * `pnpm exec tsx bench/client-driver-cost.ts`: the Node-side CPU of one rate-limit decision
 * through each client driver of core's seam (issue 20) — ioredis 5, ioredis 6, iovalkey and
 * node-redis — side by side, on one private `redis-server`. Redis's own cost per decision is the
 * same script on every driver (see bench/rate-limit-script-cost.ts); what differs is the client.
 *
 * Per row: `process.cpuUsage()` (user + system) of this process over `--calls` store checks,
 * `--concurrency` in flight, divided per decision; median over `--rounds` interleaved rounds.
 *
 * ```sh
 * pnpm exec tsx bench/client-driver-cost.ts                  # 5 rounds × 20,000 decisions per row
 * pnpm exec tsx bench/client-driver-cost.ts --calls 5000 --rounds 3
 * ```
 */
import { parseArgs } from 'node:util';
import { createRedisStore, type RateLimitStore } from '@keel/rate-limit';
import { Redis } from 'ioredis';
import { Redis as Ioredis6 } from 'ioredis-6';
import { Redis as Iovalkey } from 'iovalkey';
import { createClient } from 'redis-5';
import { startRedisServer } from '../test/support/redis-server.js';

const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '50' },
    // Rows to run, e.g. `--only 'ioredis 5'` (to compare one driver across commits).
    only: { type: 'string' },
  },
});
const calls = Number(values.calls);
const rounds = Number(values.rounds);
const concurrency = Number(values.concurrency);

const server = await startRedisServer();
const nodeRedis = createClient({ url: server.url });
nodeRedis.on('error', () => {}); // the server stops at the end
await nodeRedis.connect();
const clients: [string, object][] = (
  [
    ['ioredis 5', () => new Redis(server.url)],
    ['ioredis 6', () => new Ioredis6(server.url)],
    ['iovalkey', () => new Iovalkey(server.url)],
    ['node-redis 5', () => nodeRedis],
  ] as const
)
  .filter(([name]) => !values.only || values.only.split(',').includes(name))
  .map(([name, make]) => [name, make()]);
const policies = [
  { keyParts: ['bench', 'gcra'], algorithm: 'gcra', limit: 1e9, windowMs: 60_000, burst: 1e9 },
] as const;
const check = (store: RateLimitStore, i: number) =>
  store.check({ clientKey: `client-${i % 1000}`, cost: 1, policies });

async function run(store: RateLimitStore): Promise<number> {
  let next = 0;
  const worker = async () => {
    while (next < calls) await check(store, next++);
  };
  const before = process.cpuUsage();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const used = process.cpuUsage(before);
  return (used.user + used.system) / calls;
}

try {
  const stores = clients.map(([name, client]) => {
    const store = createRedisStore({
      client,
      prefix: `bench:${name.replace(/\W/g, '')}:`,
      breaker: false,
    });
    return [name, store] as const;
  });
  for (const [, store] of stores) for (let i = 0; i < 2000; i++) await check(store, i); // warm up
  const samples = new Map<string, number[]>(stores.map(([name]) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    const order = [
      ...stores.slice(round % stores.length),
      ...stores.slice(0, round % stores.length),
    ];
    for (const [name, store] of order) samples.get(name)!.push(await run(store));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const base = median(samples.get('ioredis 5') ?? [...samples.values()][0]!);
  console.log(`| client | Node CPU µs / decision | vs ioredis 5 |\n| --- | ---: | ---: |`);
  for (const [name, xs] of samples) {
    const m = median(xs);
    console.log(`| ${name} | ${m.toFixed(1)} | ${(m / base).toFixed(2)}× |`);
  }
} finally {
  for (const [, client] of clients) {
    const c = client as { quit?: () => Promise<unknown>; close?: () => Promise<unknown> };
    await (c.close?.() ?? c.quit?.())?.catch(() => {});
  }
  await server.stop();
}
