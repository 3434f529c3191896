/**
 * `pnpm bench:session-bulk`: the bulk calls of a session store — `length()` and `ids()` — with
 * 100,000 sessions among 400,000 other keys, for connect-redis 8.1 (SCAN + MATCH, COUNT 100),
 * Keel without its index (SCAN on every master, COUNT 100) and Keel with its index (a sorted
 * set: ZCARD after pruning, ZRANGE pages). Not an HTTP bench: all three run in this process on
 * one ioredis client, each call timed over several rounds; the table reports medians and the
 * ratio to connect-redis.
 *
 * Data setup runs server-side in batches of 10,000 keys per script call (a few seconds), and
 * everything is deleted at the end (or the private redis-server is stopped). See bench/README.md.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { hashKeyPart } from '@keel/core';
import { SessionStore } from '@keel/express';
import { RedisStore } from 'connect-redis';
import { Redis } from 'ioredis';
import { type RedisServer, startRedisServer } from '../test/support/redis-server.js';

const USAGE = `Usage: pnpm bench:session-bulk [options]

  --sessions <n>   sessions to create                 (default 100000)
  --others <n>     unrelated keys beside them         (default 400000)
  --rounds <n>     timed calls per store and call     (default 3)
  -h, --help

Redis: BENCH_REDIS_URL (or REDIS_URL), else a private redis-server started and stopped here.
All keys live under "keel-bench-bulk:<uuid>:" and are deleted at the end.`;

const BATCH = 10_000;

function log(message: string): void {
  process.stderr.write(`[session-bulk] ${message}\n`);
}

/**
 * Creates keys `<prefix><from>` … `<prefix><to>` holding `value`, in one script per 10,000 keys.
 * Seeding only, on a standalone server: the keys are built inside the script, which Keel's own
 * scripts never do (they would not be Cluster-safe).
 */
const SEED_LUA = `
for i = tonumber(ARGV[2]), tonumber(ARGV[3]) do
  redis.call('SET', ARGV[1] .. i, ARGV[4], 'PX', ARGV[5])
end
return 0`;

async function seed(redis: Redis, prefix: string, count: number, value: string): Promise<void> {
  for (let start = 0; start < count; start += BATCH) {
    const end = Math.min(count, start + BATCH) - 1;
    await redis.eval(SEED_LUA, 0, prefix, start, end, value, 3_600_000);
  }
}

async function deleteMatching(redis: Redis, pattern: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 5_000);
    cursor = next;
    if (keys.length > 0) deleted += await redis.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}

async function time<T>(rounds: number, call: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const samples: number[] = [];
  let value!: T;
  for (let i = 0; i < rounds; i++) {
    const started = performance.now();
    value = await call();
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  return { ms: samples[Math.floor(samples.length / 2)]!, value };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      sessions: { type: 'string', default: '100000' },
      others: { type: 'string', default: '400000' },
      rounds: { type: 'string', default: '3' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const sessions = Number(values.sessions);
  const others = Number(values.others);
  const rounds = Number(values.rounds);
  if (![sessions, others, rounds].every((n) => Number.isInteger(n) && n >= 1)) {
    console.error(USAGE);
    return 2;
  }

  let server: RedisServer | undefined;
  let url = process.env.BENCH_REDIS_URL || process.env.REDIS_URL;
  if (!url) {
    server = await startRedisServer();
    url = server.url;
  }
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  redis.on('error', (error) => log(`redis: ${error.message}`));
  const base = `keel-bench-bulk:${randomUUID()}:`;
  const prefix = `${base}sess:`;
  try {
    const started = performance.now();
    const payload = JSON.stringify({
      cookie: { originalMaxAge: 3_600_000, httpOnly: true, path: '/' },
      user: 'bench-user',
    });
    await seed(redis, `${prefix}s`, sessions, payload);
    await seed(redis, `${base}other:`, others, 'x');
    // The index as Keel keeps it when every session is written with `index: true`.
    const indexPrefix = `${base}idx:`;
    const indexed = new SessionStore({ client: redis, prefix, indexPrefix, index: true });
    await indexed.set('s0', {
      cookie: {
        originalMaxAge: 3_600_000,
        expires: new Date(Date.now() + 3_600_000),
        httpOnly: true,
        path: '/',
      },
    } as never);
    // Where createRedisSessionStorage keeps it: createKeyspace(indexPrefix, 'sess').key(prefix, 'index').
    const indexKey = `${indexPrefix}sess:{${hashKeyPart(prefix)}}:index`;
    if ((await redis.exists(indexKey)) !== 1) throw new Error(`index key ${indexKey} not found`);
    const expiry = Date.now() + 3_600_000;
    for (let start = 0; start < sessions; start += BATCH) {
      const members: (number | string)[] = [];
      for (let i = start; i < Math.min(sessions, start + BATCH); i++) members.push(expiry, `s${i}`);
      await redis.zadd(indexKey, ...members);
    }
    log(
      `seeded ${sessions} sessions + ${others} other keys in ${Math.round(performance.now() - started)} ms`,
    );

    const connectRedis = new RedisStore({ client: redis, prefix });
    const keel = new SessionStore({ client: redis, prefix, indexPrefix });
    const rows: { store: string; call: string; ms: number; count: number }[] = [];
    const measure = async (store: string, call: string, run: () => Promise<unknown>) => {
      const { ms, value } = await time(rounds, run);
      const count = typeof value === 'number' ? value : (value as unknown[]).length;
      if (count !== sessions)
        throw new Error(`${store} ${call} found ${count}, expected ${sessions}`);
      rows.push({ store, call, ms, count });
      log(`${store} ${call}: ${ms.toFixed(1)} ms`);
    };
    for (const call of ['length', 'ids'] as const) {
      await measure('connect-redis 8.1', call, () => connectRedis[call]());
      await measure('keel (SCAN)', call, () => keel[call]());
      await measure('keel (index)', call, () => indexed[call]());
    }

    const lines = [
      `${sessions.toLocaleString('en')} sessions among ${others.toLocaleString('en')} other keys, median of ${rounds}:`,
      '',
      '| call | store | ms | speed vs connect-redis |',
      '| --- | --- | ---: | ---: |',
      ...rows.map((row) => {
        const peer = rows.find((r) => r.call === row.call && r.store.startsWith('connect-redis'))!;
        return `| ${row.call}() | ${row.store} | ${row.ms.toFixed(1)} | ${(peer.ms / row.ms).toFixed(1)}× |`;
      }),
    ];
    console.log(lines.join('\n'));
    return 0;
  } finally {
    if (server) {
      redis.disconnect();
      await server.stop();
    } else {
      const deleted = await deleteMatching(redis, `${base}*`);
      const siblings = await deleteMatching(redis, `{${base}*`);
      log(`cleaned up ${deleted + siblings} keys`);
      await redis.quit();
    }
  }
}

process.exitCode = await main();
