/**
 * `pnpm bench:cache-stampede`: origin calls for N concurrent requests that all miss one key,
 * Keel's responseCache() against apicache. Not a speed bench: it counts. Each variant gets a
 * fresh key, an origin that takes `--origin-ms`, and N concurrent GETs over loopback; the table
 * shows how many times the origin ran.
 *
 * Redis: BENCH_REDIS_URL (or REDIS_URL); otherwise a private redis-server is started and
 * stopped at the end. Keys live under "keel-bench:" with a TTL.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { type Cache, createCache } from '@keel/cache';
import { createRedisClient, type RedisClient } from '@keel/core';
import { responseCache } from '@keel/express';
import apicache from 'apicache';
import express from 'express';
import { Redis } from 'ioredis';
import redisV3 from 'redis';
import { type RedisServer, startRedisServer } from '../test/support/redis-server.js';

const USAGE = `Usage: pnpm bench:cache-stampede [options]

  --requests <n>    concurrent requests per variant, all for one uncached key (default 1000)
  --origin-ms <ms>  time one origin call takes                               (default 100)
  --only <name>     variants whose name contains this
  -h, --help`;

interface Variant {
  name: string;
  note: string;
  /** Start the app(s); every request goes to one of the returned listeners, round robin. */
  start(
    origin: express.RequestHandler,
  ): Promise<{ listeners: RequestListener[]; stop(): Promise<void> }>;
}

const PREFIX = 'keel-bench:';

async function ready(client: RedisClient): Promise<void> {
  if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
}

function variants(redisUrl: string): Variant[] {
  const keel =
    (instances: number, l1: boolean): Variant['start'] =>
    async (origin) => {
      const clients: RedisClient[] = [];
      const caches: Cache[] = [];
      const listeners: RequestListener[] = [];
      for (let i = 0; i < instances; i++) {
        const client = createRedisClient(redisUrl);
        await ready(client);
        const cache = createCache({ client, prefix: PREFIX, l1 });
        await cache.ready();
        clients.push(client);
        caches.push(cache);
        const app = express();
        app.get('/catalogue', responseCache({ cache, ttlMs: 60_000 }), origin);
        listeners.push(app);
      }
      return {
        listeners,
        stop: async () => {
          await Promise.all(caches.map((cache) => cache.close()));
          await Promise.all(clients.map((client) => client.quit()));
        },
      };
    };
  const apicacheWith =
    (redisClient: unknown): Variant['start'] =>
    async (origin) => {
      const middleware = apicache.newInstance({
        defaultDuration: '1 minute',
        ...(redisClient ? { redisClient: redisClient as never } : {}),
      }).middleware;
      const app = express();
      app.get('/catalogue', middleware(), origin);
      return { listeners: [app], stop: async () => {} };
    };
  return [
    {
      name: 'keel-memory',
      note: 'responseCache(), memory store',
      start: async (origin) => {
        const app = express();
        app.get('/catalogue', responseCache({ ttlMs: 60_000 }), origin);
        return { listeners: [app], stop: async () => {} };
      },
    },
    { name: 'keel-redis', note: 'responseCache() on Redis, one instance', start: keel(1, false) },
    {
      name: 'keel-redis-2-instances',
      note: 'two instances on one Redis, requests split between them',
      start: keel(2, false),
    },
    { name: 'keel-redis-l1', note: 'responseCache() on Redis with the L1', start: keel(1, true) },
    { name: 'apicache-memory', note: 'apicache 1.6, memory', start: apicacheWith(undefined) },
    {
      name: 'apicache-redis',
      note: 'apicache 1.6, node-redis v3',
      start: async (origin) => {
        const client = redisV3.createClient({ url: redisUrl, prefix: `${PREFIX}apicache:` });
        client.on('error', () => {});
        await new Promise<void>((resolve) => client.once('ready', () => resolve()));
        const started = await apicacheWith(client)(origin);
        // Not closed either: apicache's expiry timers use it.
        return started;
      },
    },
    {
      name: 'apicache-ioredis',
      note: 'apicache 1.6 given ioredis: never caches',
      start: async (origin) => {
        const client = new Redis(redisUrl, { keyPrefix: `${PREFIX}apicache-io:` });
        client.on('error', () => {});
        // Not closed: apicache's own expiry timers still use it; the script exits at the end.
        return apicacheWith(client)(origin);
      },
    },
  ];
}

async function listen(listener: RequestListener): Promise<{ server: Server; url: string }> {
  const server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function run(variant: Variant, requests: number, originMs: number) {
  let calls = 0;
  const origin: express.RequestHandler = async (_req, res) => {
    calls++;
    await sleep(originMs);
    res.json({ products: [1, 2, 3], at: Date.now() });
  };
  const { listeners, stop } = await variant.start(origin);
  const servers = await Promise.all(listeners.map(listen));
  // A fresh key per run (a query parameter every cache keys on), so nothing is cached yet.
  const key = randomUUID();
  const started = performance.now();
  try {
    const responses = await Promise.all(
      Array.from({ length: requests }, (_, i) =>
        fetch(`${servers[i % servers.length]!.url}/catalogue?run=${key}`).then(async (res) => {
          await res.arrayBuffer();
          return res.status;
        }),
      ),
    );
    const ok = responses.filter((status) => status === 200).length;
    return { calls, ok, ms: Math.round(performance.now() - started) };
  } finally {
    for (const { server } of servers) {
      server.closeAllConnections();
      server.close();
    }
    await stop();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      requests: { type: 'string', default: '1000' },
      'origin-ms': { type: 'string', default: '100' },
      only: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const requests = Number(values.requests);
  const originMs = Number(values['origin-ms']);
  if (!Number.isInteger(requests) || requests < 1 || !Number.isFinite(originMs) || originMs < 0) {
    throw new Error(USAGE);
  }
  let privateRedis: RedisServer | undefined;
  let redisUrl = process.env.BENCH_REDIS_URL || process.env.REDIS_URL;
  if (!redisUrl) {
    privateRedis = await startRedisServer();
    redisUrl = privateRedis.url;
  }
  try {
    const rows: string[] = [];
    for (const variant of variants(redisUrl)) {
      if (values.only && !variant.name.includes(values.only)) continue;
      const { calls, ok, ms } = await run(variant, requests, originMs);
      rows.push(
        `| ${variant.name.padEnd(24)} | ${String(requests).padStart(8)} | ${String(calls).padStart(12)} | ${String(ok).padStart(6)} | ${String(ms).padStart(7)} | ${variant.note} |`,
      );
      console.error(`${variant.name}: ${calls} origin call(s)`);
    }
    console.log(
      `\nStampede: ${requests} concurrent GETs of one uncached key, origin ${originMs} ms\n`,
    );
    console.log('| variant                  | requests | origin calls | 200 OK | time ms | |');
    console.log('| ------------------------ | -------: | -----------: | -----: | ------: | --- |');
    for (const row of rows) console.log(row);
  } finally {
    await privateRedis?.stop();
  }
}

// apicache leaves expiry timers behind (one per stored key): exit instead of waiting for them.
await main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
