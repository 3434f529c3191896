/**
 * Every row of the benchmark table, in table order. A feature issue adds its rows here, one
 * entry each, plus (usually) one server file under `bench/servers/`.
 *
 * Ratios: each row is compared with its group's first row (`bare Express` for the `express`
 * group), unless it names another row in `baseline`. Redis CPU has its own reference row: the
 * baseline when that one uses Redis, else `redisBaseline`, else the group's first Redis row —
 * the raw EVALSHA ceiling of its framework for the rate-limit rows, the best any
 * one-round-trip feature can do.
 */
import type autocannon from 'autocannon';
import { fixedKey, freshKeys, ORDER_REQUEST } from './idempotency-requests.js';
import { CONNECT_REDIS_SID, KEEL_SID, sessionCookie } from './session-requests.js';

export interface BenchVariant {
  /** Unique row name, kebab-case; `--only` matches against it. */
  name: string;
  /** One line for the README and the results file: what this row measures. */
  description: string;
  /** Server file under `bench/servers/`; it must print `{"port":N}` once it listens. */
  server: string;
  /** Rows in one group are compared with the group's first row. */
  group: string;
  /** Compare with this row instead of the group's first row. */
  baseline?: string;
  /**
   * Compare Redis CPU with this row. Default: `baseline` when it uses Redis, else the group's
   * first row with `redis: true`.
   */
  redisBaseline?: string;
  /** True when the server talks to Redis: it gets `BENCH_REDIS_URL` and a `cmds/req` column. */
  redis?: boolean;
  /** Path (and query) to hit. @default '/' */
  path?: string;
  /** @default 'GET' */
  method?: autocannon.Request['method'];
  headers?: Record<string, string>;
  body?: string;
  /**
   * Extra autocannon options for this row, e.g. `requests: [{ setupRequest }]` to send a fresh
   * `Idempotency-Key` with every request. Applied last.
   */
  autocannon?: Partial<autocannon.Options>;
}

export const variants: readonly BenchVariant[] = [
  {
    name: 'express-bare',
    description: 'Express 5, one GET route returning a small JSON body: the framework floor.',
    server: 'express-bare.ts',
    group: 'express',
  },
  {
    name: 'express-raw-evalsha',
    description:
      'Express 5 where each request runs exactly one EVALSHA (INCR + PEXPIRE) through ioredis ' +
      'defineCommand: the ceiling for any Redis-backed feature that makes one round trip.',
    server: 'express-raw-evalsha.ts',
    group: 'express',
    redis: true,
  },
  {
    name: 'koa-bare',
    description: 'Koa 3, one GET route returning a small JSON body: the framework floor.',
    server: 'koa-bare.ts',
    group: 'koa',
  },
  // Idempotency-Key (@keel/idempotency): POST /orders overhead against no middleware and peers.
  {
    name: 'express-post-bare',
    description:
      'Express 5 + express.json(), POST /orders answering 201 with a small JSON body, no ' +
      'middleware: the floor of the idempotency rows.',
    server: 'express-post-bare.ts',
    group: 'idempotency',
    ...ORDER_REQUEST,
  },
  {
    name: 'express-idempotency-keel-redis',
    description:
      'Keel idempotency() on Redis, a fresh Idempotency-Key per request: every request is a ' +
      'first execution (claim EVALSHA, handler, complete EVALSHA).',
    server: 'express-idempotency-keel-redis.ts',
    group: 'idempotency',
    redis: true,
    ...ORDER_REQUEST,
    autocannon: freshKeys(true),
  },
  {
    name: 'express-idempotency-keel-redis-replay',
    description:
      'Keel idempotency() on Redis, one fixed key: every request after the first is a replay ' +
      'of the stored response (one EVALSHA, handler not run).',
    server: 'express-idempotency-keel-redis-replay.ts',
    group: 'idempotency',
    redis: true,
    ...ORDER_REQUEST,
    headers: fixedKey(),
  },
  {
    name: 'express-idempotency-keel-node-redis',
    description:
      'Keel idempotency() on Redis through a node-redis 5 client (the client family of ' +
      "@node-idempotency's row), a fresh Idempotency-Key per request.",
    server: 'express-idempotency-keel-node-redis.ts',
    group: 'idempotency',
    redis: true,
    ...ORDER_REQUEST,
    autocannon: freshKeys(true),
  },
  {
    name: 'express-idempotency-node-idempotency-redis',
    description:
      '@node-idempotency/core 1.0.11 + storage-adapter-redis (node-redis 4) with minimal Express ' +
      'glue (its Express plugin is not published), a fresh key per request.',
    server: 'express-idempotency-node-idempotency-redis.ts',
    group: 'idempotency',
    redis: true,
    ...ORDER_REQUEST,
    autocannon: freshKeys(false),
  },
  {
    name: 'express-idempotency-express-idempotency-redis',
    description:
      'express-idempotency 1.0.6 + express-idempotency-redis-adapter 1.0.8 (node-redis 4), a ' +
      'fresh key per request.',
    server: 'express-idempotency-express-idempotency-redis.ts',
    group: 'idempotency',
    redis: true,
    ...ORDER_REQUEST,
    autocannon: freshKeys(false),
  },
  // Rate limiting (@keel/rate-limit): limits never reached, so every row measures the cost of
  // counting; ratios are to the bare framework row (compare Redis rows with the raw EVALSHA row).
  {
    name: 'express-keel-rate-limit-redis',
    description:
      'Keel rateLimit() on Redis, one policy (sliding window, 1e8/min, never hit): one EVALSHA ' +
      'per request.',
    server: 'express-keel-rate-limit-redis.ts',
    group: 'express',
    redis: true,
  },
  {
    name: 'express-keel-rate-limit-redis-metrics',
    description:
      'The same server with @keel/prometheus attached to the limiter and its store (a counter ' +
      'and a histogram observation per request): the cost of metrics.',
    server: 'express-keel-rate-limit-redis-metrics.ts',
    group: 'express',
    baseline: 'express-keel-rate-limit-redis',
    redis: true,
  },
  {
    name: 'express-keel-rate-limit-redis-3',
    description:
      'Keel rateLimit() on Redis, three policies (burst, hourly, daily) checked atomically by ' +
      'one script: still one EVALSHA per request.',
    server: 'express-keel-rate-limit-redis-3.ts',
    group: 'express',
    redis: true,
  },
  {
    name: 'express-keel-rate-limit-memory',
    description: 'Keel rateLimit() with its default in-process memory store, one policy.',
    server: 'express-keel-rate-limit-memory.ts',
    group: 'express',
  },
  {
    name: 'express-rate-limit-redis',
    description: 'express-rate-limit 8 + rate-limit-redis 6 (ioredis), one limiter.',
    server: 'express-rate-limit-redis.ts',
    group: 'express',
    redis: true,
  },
  {
    name: 'express-rate-limit-redis-chained-3',
    description:
      'Three chained express-rate-limit 8 limiters on rate-limit-redis 6 (burst, hourly, ' +
      'daily): three round trips per request.',
    server: 'express-rate-limit-redis-chained-3.ts',
    group: 'express',
    redis: true,
  },
  {
    name: 'express-rate-limiter-flexible-redis',
    description: 'rate-limiter-flexible 11 RateLimiterRedis (ioredis) in a minimal middleware.',
    server: 'express-rate-limiter-flexible-redis.ts',
    group: 'express',
    redis: true,
  },
  {
    name: 'express-rate-limiter-flexible-memory',
    description: 'rate-limiter-flexible 11 RateLimiterMemory in a minimal middleware.',
    server: 'express-rate-limiter-flexible-memory.ts',
    group: 'express',
  },
  {
    name: 'koa-raw-evalsha',
    description:
      'Koa 3 where each request runs exactly one EVALSHA (INCR + PEXPIRE): the Koa ceiling for ' +
      'a one-round-trip Redis feature.',
    server: 'koa-raw-evalsha.ts',
    group: 'koa',
    redis: true,
  },
  {
    name: 'koa-keel-rate-limit-redis',
    description: 'Keel rateLimit() for Koa on Redis, one policy (sliding window, never hit).',
    server: 'koa-keel-rate-limit-redis.ts',
    group: 'koa',
    redis: true,
  },
  {
    name: 'koa-ratelimit-redis',
    description: 'koa-ratelimit 6 with its Redis driver (ioredis).',
    server: 'koa-ratelimit-redis.ts',
    group: 'koa',
    redis: true,
  },
  // Sessions (@keel/session): express-session with Keel's SessionStore vs connect-redis 8.1 on
  // the same Redis and ioredis, one seeded session per server. connect-redis 10 (node-redis)
  // needs Node >= 22 and has no row on Node 20.
  {
    name: 'express-session-connect-redis-read',
    description:
      'express-session + connect-redis 8.1 (ioredis), read-mostly route: GET the session, then ' +
      'express-session touches it (EXPIRE).',
    server: 'express-session-connect-redis.ts',
    group: 'session',
    redis: true,
    path: '/read',
    headers: sessionCookie(CONNECT_REDIS_SID),
  },
  {
    name: 'express-session-keel-redis-read',
    description:
      "express-session + Keel's SessionStore on Redis, read-mostly route: the read script, then " +
      'the touch script (TTL only, never shortened).',
    server: 'express-session-keel-redis.ts',
    group: 'session',
    baseline: 'express-session-connect-redis-read',
    redis: true,
    path: '/read',
    headers: sessionCookie(KEEL_SID),
  },
  {
    name: 'express-session-keel-redis-read-touch-after',
    description:
      "The same read route with Keel's touchAfter: 60 s: touches within a minute are skipped, " +
      'so a read is one round trip.',
    server: 'express-session-keel-redis.ts',
    group: 'session',
    baseline: 'express-session-connect-redis-read',
    redis: true,
    path: '/lazy/read',
    headers: sessionCookie(KEEL_SID),
  },
  {
    name: 'express-session-connect-redis-write',
    description:
      'express-session + connect-redis 8.1 (ioredis), write route: GET, change a field, SET EX ' +
      'of the whole session (last writer wins).',
    server: 'express-session-connect-redis.ts',
    group: 'session',
    baseline: 'express-session-connect-redis-read',
    redis: true,
    path: '/write',
    headers: sessionCookie(CONNECT_REDIS_SID),
  },
  {
    name: 'express-session-keel-redis-write',
    description:
      "express-session + Keel's SessionStore on Redis, write route: the read script, then the " +
      'field-merge script (only the changed fields are sent and merged).',
    server: 'express-session-keel-redis.ts',
    group: 'session',
    baseline: 'express-session-connect-redis-write',
    redis: true,
    path: '/write',
    headers: sessionCookie(KEEL_SID),
  },
  // Response caching (@keel/cache): the hit path of GET /catalogue (~2 KB JSON from an origin
  // that costs 5 ms a call), every row compared with bare Express serving the same bytes.
  {
    name: 'express-cache-bare',
    description: "Bare Express serving the catalogue body (no origin cost): the cache rows' floor.",
    server: 'express-cache-bare.ts',
    group: 'cache',
    path: '/catalogue',
  },
  {
    name: 'express-cache-keel-memory',
    description: "Express + Keel's responseCache() on the memory store: every request a hit.",
    server: 'express-cache-keel-memory.ts',
    group: 'cache',
    path: '/catalogue',
  },
  {
    name: 'express-cache-keel-redis',
    description:
      "Express + Keel's responseCache() on Redis: one EVALSHA per hit (concurrent hits on one key share it).",
    server: 'express-cache-keel-redis.ts',
    group: 'cache',
    redis: true,
    path: '/catalogue',
  },
  {
    name: 'express-cache-keel-redis-l1',
    description:
      "Express + Keel's responseCache() on Redis with the pub/sub-coherent L1: hits without a round trip.",
    server: 'express-cache-keel-redis-l1.ts',
    group: 'cache',
    redis: true,
    path: '/catalogue',
  },
  {
    name: 'express-cache-apicache-memory',
    description: 'Express + apicache 1.6, memory store.',
    server: 'express-cache-apicache-memory.ts',
    group: 'cache',
    path: '/catalogue',
  },
  {
    name: 'express-cache-apicache-redis',
    description:
      'Express + apicache 1.6 on Redis through node-redis v3 (the client it supports): HGETALL per hit.',
    server: 'express-cache-apicache-redis.ts',
    group: 'cache',
    redis: true,
    path: '/catalogue',
  },
  {
    name: 'express-cache-apicache-ioredis',
    description:
      'Express + apicache 1.6 given an ioredis client: it checks `client.connected` (node-redis ' +
      'only), so it never caches; every request pays the 5 ms origin.',
    server: 'express-cache-apicache-ioredis.ts',
    group: 'cache',
    redis: true,
    path: '/catalogue',
  },
  // Feature rows go here, e.g.:
  // { name: 'express-rate-limit-redis', description: '…', server: 'express-rate-limit-redis.ts',
  //   group: 'express', baseline: 'express-raw-evalsha', redis: true },
];
