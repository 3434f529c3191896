/**
 * Issue 12: a claim that Keel gave up on leaves no trace. Redis stopped (SIGSTOP) under
 * concurrent idempotent POSTs answers them 503 with `Retry-After: 1`; the claim scripts already
 * on the socket run after SIGCONT, and must then do nothing (guarded by their deadline) or be
 * released (answered late). So the retry the 503 invited runs the handler once and succeeds —
 * never `409, Retry-After: <the whole lease>` — for every key. Also: a claim whose reply is
 * delayed on the wire is released, and a retry racing that release waits for it; a client still
 * connecting makes the first request wait, not fail.
 */
import { randomUUID } from 'node:crypto';
import http, { type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  codes as coreCodes,
  createEvents,
  createRedisClient,
  PROBLEM_CONTENT_TYPE,
  type RedisClient,
} from '@keel/core';
import { createRedisIdempotencyStore } from '@keel/idempotency';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cleanupPrefix,
  closeClient,
  createTestRedis,
  type RedisServer,
  redisUrl,
  startFaultProxy,
  startRedisServer,
  testPrefix,
} from '../support/index.js';
import { type AppFactory, eventLog, frameworks } from './apps.js';

const quiet = createEvents(() => {});
const teardown: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const step of teardown.splice(0).reverse()) await step();
});

const KEYS = 100;

function ready(client: RedisClient): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('Redis client not ready in 10 s')), 10_000);
    client.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `promise`, or a failure naming `what` after `ms`. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** One listening HTTP server for a burst of requests (supertest would start one per request). */
async function listen(app: unknown): Promise<string> {
  const server = http.createServer(app as RequestListener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  teardown.push(
    () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A private Redis that the test may stop, and a client to it with Keel's defaults. */
async function privateRedis(): Promise<{ server: RedisServer; client: RedisClient }> {
  const server = await startRedisServer();
  const client = createRedisClient({ url: server.url, maxReconnectDelayMs: 100, events: quiet });
  teardown.push(async () => {
    server.resume();
    await closeClient(client);
    await server.stop();
  });
  await ready(client);
  return { server, client };
}

/** An app whose handler counts its runs per key (sent in the body) and answers 201. */
function countingApp(makeApp: AppFactory, options: Parameters<AppFactory>[0]) {
  const runs = new Map<string, number>();
  let onRun = () => {};
  const app = makeApp(options, ({ body }) => {
    const key = (body as { key: string }).key;
    runs.set(key, (runs.get(key) ?? 0) + 1);
    onRun();
    return { status: 201, json: { key } };
  });
  return {
    app,
    runs,
    setOnRun: (fn: () => void) => {
      onRun = fn;
    },
  };
}

function post(target: Parameters<typeof request>[0], key: string) {
  return request(target).post('/orders').set('Idempotency-Key', `"${key}"`).send({ key });
}

describe.each(frameworks)('%s idempotency() across a Redis stall (SIGSTOP)', (_name, makeApp) => {
  it.each([
    ['after 1 s, as Retry-After says, with the circuit breaker on', { breaker: undefined }, 1000],
    ['at once after SIGCONT, without a breaker', { breaker: false as const }, 0],
  ])('every retry %s runs the handler once and succeeds', async (_when, extra, waitMs) => {
    const { server, client } = await privateRedis();
    const store = createRedisIdempotencyStore({
      client,
      deadlineMs: 150,
      events: quiet,
      ...(extra.breaker === false ? { breaker: false } : {}),
    });
    const { app, runs, setOnRun } = countingApp(makeApp, { store });
    const url = await listen(app);
    // Scripts loaded and the server clock measured before the stall.
    expect((await post(url, `warm-${randomUUID()}`)).status).toBe(201);

    // Redis stops while the burst is under way: claims that were answered run their handler,
    // claims on the socket or in Redis's queue are left behind, and so are completions.
    let handled = 0;
    setOnRun(() => {
      if (++handled === 10) server.pause();
    });
    const keys = Array.from({ length: KEYS }, () => randomUUID());
    const first = await Promise.all(keys.map((key) => post(url, key)));
    server.resume();

    const unavailable = first.filter((res) => res.status === 503);
    expect(unavailable.length).toBeGreaterThan(0);
    for (const res of first) {
      expect([201, 503]).toContain(res.status);
      if (res.status !== 503) continue;
      expect(res.headers['content-type']).toBe(PROBLEM_CONTENT_TYPE);
      expect(res.headers['retry-after']).toBe('1');
    }

    if (waitMs > 0) await sleep(waitMs);
    const retried = await Promise.all(keys.map((key) => retryUntilServed(url, key)));
    for (const [i, res] of retried.entries()) {
      const key = keys[i]!;
      expect(res.status, `key ${i}: first answer ${first[i]!.status}`).toBe(201);
      expect(res.body).toEqual({ key });
      // Answered 201 the first time: the (possibly late) completion is replayed.
      if (first[i]!.status === 201) expect(res.headers['idempotent-replayed']).toBe('true');
      expect(runs.get(key), `key ${i}`).toBe(1);
    }
  });
});

/**
 * Send a key until it is not answered 503 (the breaker may still be open just after the stall),
 * bounded; a 409 fails the test at once, since it means a claim nobody holds.
 */
async function retryUntilServed(url: string, key: string) {
  for (let attempt = 0; ; attempt++) {
    const res = await post(url, key);
    expect(res.status, `key ${key}: 409 means a claim nobody holds`).not.toBe(409);
    if (res.status !== 503 || attempt >= 100) return res;
    await sleep(50);
  }
}

describe.each(frameworks)('%s idempotency() when a claim answers late', (_name, makeApp) => {
  // Replies delayed on the wire: the claim script starts on Redis in time (250 ms out, within
  // its 400 ms deadline) but its reply arrives after the deadline (500 ms).
  const LATENCY_MS = 250;
  const DEADLINE_MS = 400;

  async function slowWire() {
    const target = new URL(redisUrl());
    const proxy = await startFaultProxy({ host: target.hostname, port: Number(target.port) });
    const client = createRedisClient({ url: proxy.url, events: quiet });
    const prefix = testPrefix();
    teardown.push(async () => {
      await proxy.close();
      await closeClient(client);
      await cleanupPrefix(createTestRedis(), prefix);
    });
    await ready(client);
    const log = eventLog();
    const store = createRedisIdempotencyStore({
      client,
      prefix,
      deadlineMs: DEADLINE_MS,
      breaker: false,
      events: log.events,
    });
    const counting = countingApp(makeApp, { store, events: log.events });
    expect((await post(counting.app, `warm-${randomUUID()}`)).status).toBe(201);
    return { proxy, prefix, log, ...counting };
  }

  it('releases the claim it took after the client was told 503: the key is free at once', async () => {
    const { proxy, prefix, log, app, runs } = await slowWire();
    const key = randomUUID();
    proxy.setLatency(LATENCY_MS);
    const compensated = log.next('store.compensated');
    const res = await post(app, key);
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ code: coreCodes.STORE_TIMEOUT });
    expect((await within(compensated, 3000, 'store.compensated')).attributes).toMatchObject({
      feature: 'idempotency',
      operation: 'acquire',
      outcome: 'ok',
    });
    proxy.setLatency(0);
    const admin = createTestRedis();
    // Only the warm-up's completed record is left: the late claim was deleted by its token.
    const states = await Promise.all(
      (await admin.keys(`${prefix}*`)).map((redisKey) => admin.hget(redisKey, 'state')),
    );
    expect(states).toEqual(['c']);
    expect(runs.get(key)).toBeUndefined();
  });

  it('a retry sent while that late reply is still on the wire waits for the release and runs once', async () => {
    const { proxy, app, runs } = await slowWire();
    const key = randomUUID();
    proxy.setLatency(LATENCY_MS);
    const res = await post(app, key);
    expect(res.status).toBe(503);
    // The late reply and its release are still to come when the retry goes out.
    proxy.setLatency(0);
    const retry = await post(app, key);
    expect(retry.status).toBe(201);
    expect(runs.get(key)).toBe(1);
    expect((await post(app, key)).headers['idempotent-replayed']).toBe('true');
  });

  it('a completion that answers late still lands: the client got its response, the retry replays it', async () => {
    const { proxy, log, app, runs, setOnRun } = await slowWire();
    const key = randomUUID();
    const failed = log.next('idempotency.store-error');
    // The handler's own completion is the call that crosses the slow wire.
    setOnRun(() => proxy.setLatency(LATENCY_MS));
    const slow = post(app, key).then();
    const res = await slow;
    expect(res.status).toBe(201);
    expect((await within(failed, 3000, 'idempotency.store-error')).attributes).toMatchObject({
      operation: 'complete',
    });
    proxy.setLatency(0);
    // Ordered behind the late completion on the same connection: it finds the record completed.
    const retry = await post(app, key);
    expect(retry.status).toBe(201);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(runs.get(key)).toBe(1);
  });
});

describe.each(frameworks)('%s idempotency() on a cold start', (_name, makeApp) => {
  it.each([
    ['connecting', {}],
    ['not yet connected (lazyConnect)', { lazyConnect: true }],
  ])('waits for a client that is still %s, then runs the handler once', async (_s, redis) => {
    const client = createRedisClient({ url: redisUrl(), redis, events: quiet });
    const prefix = testPrefix();
    teardown.push(async () => {
      await closeClient(client);
      await cleanupPrefix(createTestRedis(), prefix);
    });
    expect(client.status).not.toBe('ready');
    const store = createRedisIdempotencyStore({ client, prefix });
    const { app, runs } = countingApp(makeApp, { store });
    const key = randomUUID();
    const res = await post(app, key);
    expect(res.status).toBe(201);
    expect(runs.get(key)).toBe(1);
    expect((await post(app, key)).headers['idempotent-replayed']).toBe('true');
  });
});
