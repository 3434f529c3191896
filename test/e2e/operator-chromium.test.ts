/**
 * The operator page in a real browser: Debian's headless Chromium against each example app
 * (Express, then Koa) in Redis mode, on a private `redis-server` this test starts (so it can stop it). The admin's
 * browser opens `/admin/keel`; the test loads traffic (cached catalogue reads, an order sent
 * twice with one Idempotency-Key) and watches the numbers move on the page; then it stops
 * Redis (SIGSTOP: connections stay open, nothing answers) and watches the rate limiter's
 * breaker open.
 *
 * The admin authenticates with a bearer token (the browser context sends it on every request)
 * rather than a session: sessions live in the same Redis, so a session-authenticated page
 * could not load while Redis is stopped — which is the moment the page matters.
 */
import { once } from 'node:events';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRedisClient } from '@keel/core';
import { createData, createTokenSigner, type ExampleDeps } from '@keel/example-shared';
import type { Redis } from 'ioredis';
import type { Page } from 'playwright-core';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp as createExpressApp } from '../../examples/express-api/src/app.js';
import { createApp as createKoaApp } from '../../examples/koa-api/src/app.js';
import { closeClient, type RedisServer, startRedisServer, testPrefix } from '../support/index.js';
import { launchChromium, type RunningChromium } from './chromium.js';

const SCREENSHOT = process.env.KEEL_SCREENSHOT_DIR;

const frameworks: [string, (deps: ExampleDeps) => RequestListener][] = [
  ['express', (deps) => createExpressApp(deps)],
  ['koa', (deps) => createKoaApp(deps).callback()],
];

describe.each(frameworks)('%s: the operator page in headless Chromium', (name, createApp) => {
  const tokens = createTokenSigner({ secret: 'e2e-secret-e2e-secret-e2e-secret!!' });
  let redisServer: RedisServer;
  let redis: Redis;
  let server: Server;
  let base: string;
  let chromium: RunningChromium | undefined;

  beforeAll(async () => {
    redisServer = await startRedisServer();
    redis = createRedisClient({ url: redisServer.url }) as Redis;
    await once(redis, 'ready');
    const app = createApp({
      data: createData({ catalogueDelayMs: 0 }),
      tokens,
      redis,
      keyPrefix: testPrefix(),
    });
    server = createServer(app);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }, 30_000);

  afterAll(async () => {
    await chromium?.close();
    if (redisServer.isRunning()) redisServer.resume();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await closeClient(redis);
    await redisServer.stop();
  });

  const text = async (page: Page, selector: string) =>
    (await page.locator(selector).first().textContent()) ?? '';
  const count = async (page: Page, id: string) => Number(await text(page, `#${id}`));
  const breaker = (page: Page, feature: string) =>
    text(page, `#stores tr[data-feature="${feature}"] .breaker`).catch(() => '');

  it('shows traffic as it happens, and the breaker opening when Redis stops', async () => {
    chromium = await launchChromium();
    const admin = await chromium.browser.newContext({
      extraHTTPHeaders: { authorization: `Bearer ${tokens.sign('alice').token}` },
    });
    const page = await admin.newPage();
    await page.goto(`${base}/admin/keel`);
    await expect.poll(() => text(page, '#status')).toMatch(/^updated /);
    expect(await count(page, 'rl-allowed-total')).toBe(0);
    expect(await text(page, '#hit-rate')).toBe('—');

    // Traffic: 20 catalogue reads (one miss, then hits) and one order sent twice.
    for (let i = 0; i < 20; i++) await request(base).get('/catalogue').expect(200);
    const bob = `Bearer ${tokens.sign('bob').token}`;
    for (let i = 0; i < 2; i++) {
      await request(base)
        .post('/orders')
        .set('authorization', bob)
        .set('idempotency-key', '"e2e-order-1"')
        .send({ items: [{ productId: 'p-espresso', quantity: 1 }] })
        .expect(201);
    }

    await expect.poll(() => count(page, 'rl-allowed-total'), { timeout: 10_000 }).toBe(22);
    await expect.poll(() => count(page, 'replays-total')).toBe(1);
    expect(await count(page, 'claims-total')).toBe(1);
    expect(await count(page, 'cache-lookups-total')).toBe(20);
    expect(await count(page, 'cache-hits-total')).toBeGreaterThanOrEqual(18);
    expect(await text(page, '#hit-rate')).toMatch(/^(9\d|100)\.\d %$/);
    expect(await text(page, '#limited-rate')).toBe('0.0 %');
    expect(await text(page, '#latency-p50')).toMatch(/ ms$/);
    expect(await text(page, '#latency-p99')).toMatch(/ ms$/);
    expect(await breaker(page, 'rate-limit')).toBe('closed');
    expect(await breaker(page, 'idempotency')).toBe('closed');
    if (SCREENSHOT) await page.screenshot({ path: `${SCREENSHOT}/${name}-traffic.png` });

    // Redis stops answering: each check waits out its deadline, the fallback limiter answers,
    // and after five failures in a row the breaker opens.
    redisServer.pause();
    for (let i = 0; i < 8; i++) await request(base).get('/catalogue').expect(200);
    await expect.poll(() => breaker(page, 'rate-limit'), { timeout: 10_000 }).toBe('open');
    const row = page.locator('#stores tr[data-feature="rate-limit"]');
    expect(await row.locator('.breaker').getAttribute('class')).toContain('state-open');
    expect(await row.locator('td').nth(3).textContent()).toMatch(/\/s$/);
    if (SCREENSHOT) await page.screenshot({ path: `${SCREENSHOT}/${name}-breaker.png` });
    await admin.close();
  }, 60_000);
});
