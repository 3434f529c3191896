/**
 * The store-call promises on a node-redis (and an ioredis 6) client passed in as the application made it
 * (issue 20): node-redis's defaults queue commands while disconnected and never time a command
 * out, so Keel's own deadline, breaker, failure policies and call guard must hold without any
 * help from the client. Same scenarios on Express and Koa, over supertest.
 */
import {
  createEvents,
  createStoreCaller,
  type FailurePolicy,
  type KeelEvent,
  StoreTimeoutError,
  StoreUnavailableError,
} from '@keel/core';
import { createRedisStore } from '@keel/rate-limit';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { type FaultProxy, redisUrl, startFaultProxy, testPrefix } from '../support/index.js';
import { createTestIoredis6 } from '../support/ioredis-matrix.js';
import { createTestNodeRedis } from '../support/node-redis.js';
import { type AppFactory, frameworks } from './apps.js';

const DEADLINE_MS = 50;
/** Deadline plus generous slack for a busy shared machine; a hang would take seconds. */
const ANSWER_WITHIN_MS = DEADLINE_MS + 300;

let proxy: FaultProxy | undefined;
afterEach(async () => {
  proxy?.resetAll();
  proxy?.heal();
  await proxy?.close();
  proxy = undefined;
});

/** A node-redis client with its defaults (offline queue on), behind a fault proxy. */
async function proxiedNodeRedis() {
  const target = new URL(redisUrl());
  proxy = await startFaultProxy({ host: target.hostname, port: Number(target.port) });
  return createTestNodeRedis({ url: proxy.url });
}

/** An ioredis 6 client with its defaults, behind a fault proxy. */
async function proxiedIoredis6() {
  const target = new URL(redisUrl());
  proxy = await startFaultProxy({ host: target.hostname, port: Number(target.port) });
  return createTestIoredis6(proxy.url);
}

const clients = [
  ['node-redis', proxiedNodeRedis],
  ['ioredis 6', proxiedIoredis6],
] as const;

function setup(
  makeApp: AppFactory,
  client: object,
  failurePolicy: FailurePolicy,
  deadlineMs = DEADLINE_MS,
) {
  const seen: KeelEvent[] = [];
  const events = createEvents((e) => seen.push(e));
  const prefix = testPrefix();
  const store = createRedisStore({
    client,
    prefix,
    deadlineMs,
    events,
    breaker: false,
  });
  const app = makeApp({
    global: {
      name: 'node-redis',
      store,
      limit: 2,
      windowMs: 60_000,
      algorithm: 'fixed-window',
      failurePolicy,
      events,
    },
  });
  return { app, seen };
}

async function timed(app: Parameters<typeof request>[0]) {
  const started = performance.now();
  const res = await request(app).get('/ok');
  return { res, ms: performance.now() - started };
}

describe.each(frameworks)('rate limiting on a node-redis client, %s', (_name, makeApp) => {
  it.each(clients)(
    '%s blackholed: open passes, closed answers 503 problem+json, fallback limits in memory, all within the deadline',
    async (_client, proxied) => {
      const client = await proxied();
      const open = setup(makeApp, client, 'open');
      const closed = setup(makeApp, client, 'closed');
      const fallback = setup(makeApp, client, 'fallback');
      await request(open.app).get('/ok').expect(200);
      proxy!.blackhole();
      const a = await timed(open.app);
      expect(a.res.status).toBe(200);
      expect(a.ms).toBeLessThan(ANSWER_WITHIN_MS);
      const b = await timed(closed.app);
      expect(b.res.status).toBe(503);
      expect(b.res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(b.res.body.code).toBe('KEEL_ERR_STORE_TIMEOUT');
      expect(b.ms).toBeLessThan(ANSWER_WITHIN_MS);
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) statuses.push((await timed(fallback.app)).res.status);
      expect(statuses).toEqual([200, 200, 429]);
    },
  );

  it.each(clients)(
    '%s: a charge given up on while Redis stalled never lands when the queued script finally runs',
    async (_client, proxied) => {
      const client = await proxied();
      // A roomy deadline: the answered calls must count even on a busy machine.
      const { app } = setup(makeApp, client, 'open', 500);
      await request(app).get('/ok').expect(200); // connected, clock measured: 1 of 2 used
      proxy!.blackhole();
      for (let i = 0; i < 3; i++) expect((await timed(app)).res.status).toBe(200);
      // The three scripts are held, not lost: healing delivers them, late. Each must do nothing.
      proxy!.heal();
      // Behind the late scripts on the same connection: once it answers, they have run.
      await (client as { ping(): Promise<unknown> }).ping();
      const res = await request(app).get('/ok').expect(200);
      expect(res.headers.ratelimit).toMatch(/r=0/); // 2 of 2 used: only the answered charges
    },
  );
});

describe('store calls on a node-redis client', () => {
  it('open the circuit after repeated timeouts and fail fast, then close once Redis answers', async () => {
    const client = await proxiedNodeRedis();
    const call = createStoreCaller({
      feature: 'test',
      deadlineMs: 30,
      client,
      breaker: { failureThreshold: 2, openMs: 100 },
    });
    proxy!.blackhole();
    for (let i = 0; i < 2; i++) {
      await expect(call('ping', () => client.ping())).rejects.toBeInstanceOf(StoreTimeoutError);
    }
    const started = performance.now();
    await expect(call('ping', () => client.ping())).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(performance.now() - started).toBeLessThan(15);
    proxy!.heal();
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(await call('ping', () => client.ping())).toBe('PONG');
  });

  it('wait for a reconnecting client within the deadline, then fail as unavailable', async () => {
    const client = await proxiedNodeRedis();
    const call = createStoreCaller({ feature: 'test', deadlineMs: 100, client, breaker: false });
    proxy!.refuse();
    proxy!.resetAll();
    const deadline = Date.now() + 2000;
    while (client.isReady && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const started = performance.now();
    const error = await call('ping', () => client.ping()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(performance.now() - started).toBeLessThan(400);
    proxy!.heal();
    const slow = createStoreCaller({ feature: 'test', deadlineMs: 5000, client, breaker: false });
    expect(await slow('ping', () => client.ping())).toBe('PONG');
  });

  it('fail at once on a client closed for good', async () => {
    const client = await createTestNodeRedis();
    await client.close();
    const call = createStoreCaller({ feature: 'test', deadlineMs: 1000, client, breaker: false });
    const started = performance.now();
    await expect(call('ping', () => client.ping())).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(performance.now() - started).toBeLessThan(50);
  });
});
