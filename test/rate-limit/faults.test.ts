/**
 * Store failures over HTTP (both frameworks): Redis blackholed, connections reset, the server
 * restarted, scripts flushed. Every request must answer within the store deadline plus the
 * handler's time, with the configured failure policy (`open`, `closed` → 503, `fallback` to
 * an in-memory limiter), an event for every failure, and no request waiting on a reconnecting
 * client longer than its deadline. Also: the circuit breaker, and the deny cache answering
 * without Redis.
 */
import {
  createEvents,
  createManualClock,
  createRedisClient,
  type FailurePolicy,
  type KeelEvent,
  type RedisClient,
} from '@keel/core';
import { createRedisStore, type RateLimiterOptions } from '@keel/rate-limit';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import {
  closeClient,
  type FaultProxy,
  type RedisServer,
  redisUrl,
  startFaultProxy,
  startRedisServer,
  testPrefix,
} from '../support/index.js';
import { type AppFactory, frameworks } from './apps.js';

const DEADLINE_MS = 50;
/** Deadline plus generous slack for a busy shared machine; a hang would take seconds. */
const ANSWER_WITHIN_MS = DEADLINE_MS + 300;

let proxy: FaultProxy | undefined;
let server: RedisServer | undefined;
const clients: RedisClient[] = [];
afterEach(async () => {
  proxy?.resetAll();
  await Promise.all(clients.splice(0).map((c) => closeClient(c)));
  await proxy?.close();
  await server?.stop();
  proxy = undefined;
  server = undefined;
});

async function ready(client: RedisClient): Promise<void> {
  if (client.status === 'ready') return;
  await new Promise((resolve) => client.once('ready', resolve));
}

/** A client behind a fault proxy to the shared Redis. */
async function proxiedClient(): Promise<RedisClient> {
  const target = new URL(redisUrl());
  proxy = await startFaultProxy({ host: target.hostname, port: Number(target.port) });
  const client = createRedisClient({ url: proxy.url, maxReconnectDelayMs: 50 });
  clients.push(client);
  await ready(client);
  return client;
}

function setup(
  makeApp: AppFactory,
  client: RedisClient,
  failurePolicy: FailurePolicy,
  extra: RateLimiterOptions = {},
  deadlineMs = DEADLINE_MS,
) {
  const seen: KeelEvent[] = [];
  const events = createEvents((e) => seen.push(e));
  const store = createRedisStore({
    client,
    prefix: testPrefix(),
    deadlineMs,
    events,
    breaker: false,
  });
  const app = makeApp({
    global: {
      name: 'faults',
      store,
      limit: 2,
      windowMs: 60_000,
      algorithm: 'fixed-window',
      failurePolicy,
      events,
      ...extra,
    },
  });
  return {
    app,
    seen,
    failures: () => seen.filter((e) => e.name === 'rate-limit.store-failure').length,
  };
}

async function timed(app: Parameters<typeof request>[0]) {
  const started = performance.now();
  const res = await request(app).get('/ok');
  return { res, ms: performance.now() - started };
}

describe.each(frameworks)('rate-limit store faults on %s', (_name, makeApp) => {
  it('blackholed, open: requests pass within the deadline, one event each', async () => {
    const client = await proxiedClient();
    const { app, failures } = setup(makeApp, client, 'open');
    await request(app).get('/ok').expect(200);
    // The warm-up's first call (clock, script load) may miss 50 ms on a loaded machine.
    const before = failures();
    proxy!.blackhole();
    for (let i = 0; i < 3; i++) {
      const { res, ms } = await timed(app);
      expect(res.status).toBe(200);
      expect(res.headers.ratelimit).toBeUndefined();
      expect(ms).toBeLessThan(ANSWER_WITHIN_MS);
    }
    expect(failures() - before).toBe(3);
  });

  it('blackholed, closed: 503 problem+json with Retry-After within the deadline', async () => {
    const client = await proxiedClient();
    const { app } = setup(makeApp, client, 'closed');
    proxy!.blackhole();
    const { res, ms } = await timed(app);
    expect(res.status).toBe(503);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.body.code).toBe('KEEL_ERR_STORE_TIMEOUT');
    expect(ms).toBeLessThan(ANSWER_WITHIN_MS);
  });

  it('blackholed, fallback: an in-memory limiter with the same policies takes over', async () => {
    const client = await proxiedClient();
    const { app, seen } = setup(makeApp, client, 'fallback');
    proxy!.blackhole();
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const { res, ms } = await timed(app);
      statuses.push(res.status);
      expect(ms).toBeLessThan(ANSWER_WITHIN_MS);
    }
    expect(statuses).toEqual([200, 200, 429]);
    const failures = seen.filter((e) => e.name === 'rate-limit.store-failure');
    expect(failures).toHaveLength(3);
    expect(failures[0]!.attributes).toMatchObject({
      failurePolicy: 'fallback',
      operation: 'check',
      store: 'redis',
    });
    expect(seen.find((e) => e.name === 'rate-limit.limited')!.attributes).toMatchObject({
      source: 'fallback',
    });
  });

  it('connections reset: a request waits for the reconnecting client no longer than its deadline; Redis is used again after', async () => {
    const client = await proxiedClient();
    const { app, failures } = setup(makeApp, client, 'open');
    proxy!.refuse();
    proxy!.resetAll();
    await new Promise((resolve) => client.once('reconnecting', resolve));
    for (let i = 0; i < 3; i++) {
      const { res, ms } = await timed(app);
      expect(res.status).toBe(200);
      expect(ms).toBeLessThan(ANSWER_WITHIN_MS);
    }
    expect(failures()).toBe(3);
    proxy!.heal();
    await ready(client);
    const back = await request(app).get('/ok').expect(200);
    expect(back.headers.ratelimit).toBeDefined();
  });

  it('Redis restarted: fails per policy while down, then counts again (scripts reloaded)', async () => {
    server = await startRedisServer();
    const client = createRedisClient({ url: server.url, maxReconnectDelayMs: 50 });
    clients.push(client);
    await ready(client);
    const { app } = setup(makeApp, client, 'closed');
    await request(app).get('/ok').expect(200);
    await server.kill();
    const { res, ms } = await timed(app);
    expect(res.status).toBe(503);
    expect(ms).toBeLessThan(ANSWER_WITHIN_MS);
    await server.restart();
    await ready(client);
    // The restarted server has no scripts and no counters: NOSCRIPT is handled, counting restarts.
    const after = await request(app).get('/ok').expect(200);
    expect(after.headers.ratelimit).toBe('"faults";r=1;t=60');
  });

  it('SCRIPT FLUSH: the next check reloads the script and fails nothing', async () => {
    const client = await proxiedClient();
    // Not a deadline test: the reload's extra round trips (NOSCRIPT, then the script in full)
    // get a deadline a loaded machine cannot miss.
    const { app, failures } = setup(makeApp, client, 'closed', {}, 2_000);
    await request(app).get('/ok').expect(200);
    const admin = createRedisClient(redisUrl());
    clients.push(admin);
    await ready(admin);
    await admin.script('FLUSH');
    const res = await request(app).get('/ok').expect(200);
    // The server's clock runs: t is 60, or 59 if a second passed since the first request.
    expect(res.headers.ratelimit).toMatch(/^"faults";r=0;t=(59|60)$/);
    await request(app).get('/ok').expect(429);
    expect(failures()).toBe(0);
  });
});

describe('circuit breaker and deny cache', () => {
  it('an open circuit fails at once instead of waiting out each deadline', async () => {
    const client = await proxiedClient();
    const store = createRedisStore({
      client,
      prefix: testPrefix(),
      deadlineMs: 200,
      breaker: { failureThreshold: 2, openMs: 10_000 },
    });
    const app = frameworks[0]![1]({
      global: { name: 'breaker', store, limit: 5, windowMs: 1000, failurePolicy: 'open' },
    });
    proxy!.blackhole();
    for (let i = 0; i < 2; i++) expect((await timed(app)).ms).toBeGreaterThanOrEqual(190);
    const { res, ms } = await timed(app);
    expect(res.status).toBe(200);
    expect(ms).toBeLessThan(100);
  });

  it('answers a refused client locally until its retry time, then asks Redis again', async () => {
    const client = createRedisClient(redisUrl());
    clients.push(client);
    await ready(client);
    const storeCalls: KeelEvent[] = [];
    const clock = createManualClock();
    const store = createRedisStore({
      client,
      prefix: testPrefix(),
      events: (e) => storeCalls.push(e),
    });
    const seen: KeelEvent[] = [];
    const app = frameworks[1]![1]({
      global: {
        name: 'deny',
        store,
        limit: 1,
        algorithm: 'fixed-window',
        windowMs: 60_000,
        clock,
        events: (e) => seen.push(e),
      },
    });
    await request(app).get('/ok').expect(200);
    await request(app).get('/ok').expect(429);
    const callsBefore = storeCalls.length;
    for (let i = 0; i < 5; i++) {
      const res = await request(app).get('/ok').expect(429);
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    }
    expect(storeCalls.length).toBe(callsBefore);
    const sources = seen
      .filter((e) => e.name === 'rate-limit.limited')
      .map((e) => (e.attributes as { source: string }).source);
    expect(sources).toEqual([
      'store',
      'deny-cache',
      'deny-cache',
      'deny-cache',
      'deny-cache',
      'deny-cache',
    ]);
    clock.advance(60_000);
    await request(app).get('/ok').expect(429);
    expect(storeCalls.length).toBe(callsBefore + 1);
  });
});
