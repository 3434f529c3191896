/**
 * Idempotency fails closed on a node-redis client passed in with its own defaults (issue 20):
 * Redis blackholed → 503 problem+json within the deadline and the handler never runs, on
 * Express and Koa; the claim given up on does nothing when the held script finally runs.
 */
import { codes as coreCodes, PROBLEM_CONTENT_TYPE } from '@keel/core';
import { createRedisIdempotencyStore } from '@keel/idempotency';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { type FaultProxy, redisUrl, startFaultProxy, testPrefix } from '../support/index.js';
import { createTestNodeRedis } from '../support/node-redis.js';
import { frameworks } from './apps.js';

let proxy: FaultProxy | undefined;
afterEach(async () => {
  proxy?.resetAll();
  proxy?.heal();
  await proxy?.close();
  proxy = undefined;
});

describe.each(frameworks)('%s idempotency() on a node-redis client', (_framework, makeApp) => {
  it('answers 503 within the deadline while Redis stalls, and the late claim takes nothing', async () => {
    const target = new URL(redisUrl());
    proxy = await startFaultProxy({ host: target.hostname, port: Number(target.port) });
    const client = await createTestNodeRedis({ url: proxy.url });
    const store = createRedisIdempotencyStore({
      client,
      prefix: testPrefix(),
      deadlineMs: 100,
      breaker: false,
    });
    let calls = 0;
    const app = makeApp({ store }, () => {
      calls++;
      return { status: 201, json: { n: calls } };
    });
    proxy.blackhole();
    const started = performance.now();
    const res = await request(app).post('/orders').set('Idempotency-Key', '"k-1"').send({});
    expect(performance.now() - started).toBeLessThan(1000);
    expect(res.status).toBe(503);
    expect(res.headers['content-type']).toBe(PROBLEM_CONTENT_TYPE);
    expect(res.body).toMatchObject({ status: 503, code: coreCodes.STORE_TIMEOUT });
    expect(calls).toBe(0);
    // The held claim reaches Redis now, late: it must not hold the key against the retry.
    proxy.heal();
    await client.ping();
    const retry = await request(app).post('/orders').set('Idempotency-Key', '"k-1"').send({});
    expect(retry.status).toBe(201);
    expect(calls).toBe(1);
  });
});
