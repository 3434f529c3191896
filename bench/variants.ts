/**
 * Every row of the benchmark table, in table order. A feature issue adds its rows here, one
 * entry each, plus (usually) one server file under `bench/servers/`.
 *
 * Ratios: each row is compared with its group's first row (`bare Express` for the `express`
 * group), unless it names another row in `baseline` — Redis-backed features name the raw
 * EVALSHA ceiling of their framework, the best any one-round-trip feature can do.
 */
import type autocannon from 'autocannon';

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
  // Feature rows go here, e.g.:
  // { name: 'express-rate-limit-redis', description: '…', server: 'express-rate-limit-redis.ts',
  //   group: 'express', baseline: 'express-raw-evalsha', redis: true },
];
