/**
 * A dead Redis under express-session and koa-session: every store call has a deadline, so the
 * app answers 503 within it instead of hanging while ioredis retries.
 */
import { once } from 'node:events';
import { createRedisClient, type RedisClient } from '@keel/core';
import * as keelExpress from '@keel/express';
import * as keelKoa from '@keel/koa';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cleanupPrefix,
  closeClient,
  createTestRedis,
  type FaultProxy,
  redisUrl,
  startFaultProxy,
  testPrefix,
} from '../support/index.js';
import { CookieJar, call, expressSessionApp, koaSessionApp, type SessionApp } from './apps.js';

const DEADLINE_MS = 150;

const frameworks: [string, (client: RedisClient, prefix: string) => Promise<SessionApp>][] = [
  [
    'express',
    (client, prefix) =>
      expressSessionApp(new keelExpress.SessionStore({ client, prefix, deadlineMs: DEADLINE_MS })),
  ],
  [
    'koa',
    (client, prefix) =>
      koaSessionApp(new keelKoa.SessionStore({ client, prefix, deadlineMs: DEADLINE_MS })),
  ],
];

describe.each(frameworks)('%s sessions when Redis stops answering', (_name, makeApp) => {
  let proxy: FaultProxy | undefined;
  let client: RedisClient | undefined;
  let app: SessionApp | undefined;
  const prefix = testPrefix();
  afterEach(async () => {
    await app?.close();
    proxy?.resetAll();
    if (client) await closeClient(client);
    await proxy?.close();
    await cleanupPrefix(createTestRedis(), prefix);
  });

  it('answers 503 within the deadline, then recovers', async () => {
    const target = new URL(redisUrl());
    proxy = await startFaultProxy({ host: target.hostname, port: Number(target.port) });
    client = createRedisClient({ url: proxy.url, maxReconnectDelayMs: 50 });
    client.on('error', () => {});
    await once(client, 'ready');
    app = await makeApp(client, prefix);
    const jar = new CookieJar();
    expect((await call(app, jar, 'POST', '/login', { user: 'ann' })).status).toBe(200);

    proxy.blackhole();
    const started = performance.now();
    const down = await call(app, jar, 'GET', '/me');
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({ code: 'KEEL_ERR_STORE_TIMEOUT' });
    expect(performance.now() - started).toBeLessThan(DEADLINE_MS + 1_000);

    proxy.resetAll();
    proxy.heal();
    const deadline = Date.now() + 5_000;
    let status = 0;
    while (Date.now() < deadline) {
      status = (await call(app, jar, 'GET', '/me')).status;
      if (status === 200) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(status).toBe(200);
    expect((await call(app, jar, 'GET', '/me')).body).toMatchObject({ user: 'ann' });
  });
});
