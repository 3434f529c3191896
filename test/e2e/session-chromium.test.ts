/**
 * End to end in a real browser: Debian's headless Chromium (driven by playwright-core, started
 * by this test with a fresh profile) against the Express example app in Redis mode. Sign in on
 * the "my sessions" page, restart the server (a new app, store and Redis client on the same
 * port) and still be signed in, then "log out everywhere" from a second browser context and
 * watch the first one end.
 *
 * Chromium is required, not optional: without it this test fails with the install command.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { createRedisClient } from '@keel/core';
import { createData, createTokenSigner } from '@keel/example-shared';
import type { Redis } from 'ioredis';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../examples/express-api/src/app.js';
import { cleanupPrefix, closeClient, freePort, redisUrl, testPrefix } from '../support/index.js';
import { launchChromium, type RunningChromium } from './chromium.js';

/** One running instance of the example: app, store and Redis client of its own. */
interface Instance {
  server: Server;
  redis: Redis;
}

describe('sessions in headless Chromium', () => {
  const prefix = testPrefix();
  let port: number;
  let chrome: RunningChromium | undefined;
  let instance: Instance | undefined;

  async function startInstance(): Promise<Instance> {
    const redis = createRedisClient({ url: redisUrl() }) as Redis;
    await once(redis, 'ready');
    const app = createApp({
      data: createData({ catalogueDelayMs: 0 }),
      tokens: createTokenSigner({ secret: 'e2e-secret-e2e-secret-e2e-secret!!' }),
      redis,
    });
    const server = createServer(app);
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
    return { server, redis };
  }

  async function stopInstance(running: Instance): Promise<void> {
    running.server.closeAllConnections();
    await new Promise((resolve) => running.server.close(resolve));
    await closeClient(running.redis);
  }

  beforeAll(async () => {
    process.env.SESSION_PREFIX = prefix;
    process.env.SESSION_SECRET = 'e2e-session-secret-that-survives-restarts';
    port = await freePort();
    instance = await startInstance();
  }, 30_000);

  afterAll(async () => {
    await chrome?.close();
    if (instance) await stopInstance(instance);
    const cleanup = createRedisClient({ url: redisUrl() }) as Redis;
    await once(cleanup, 'ready');
    await cleanupPrefix(cleanup, prefix);
    await cleanupPrefix(cleanup, `{${prefix}`);
    await closeClient(cleanup);
  });

  const account = () => `http://127.0.0.1:${port}/account`;
  async function signIn(page: Page): Promise<void> {
    await page.goto(account());
    await page.fill('#username', 'alice');
    await page.fill('#password', 'wonderland');
    await Promise.all([page.waitForURL(account()), page.click('#sign-in')]);
    await expect.poll(() => page.textContent('#whoami')).toContain('alice');
  }

  it('signs in, survives a server restart, and "log out everywhere" ends the other browser', async () => {
    chrome = await launchChromium();
    const { browser } = chrome;
    const first = await browser.newContext();
    const second = await browser.newContext();
    const laptop = await first.newPage();
    const phone = await second.newPage();

    await signIn(laptop);
    const cookies = await first.cookies();
    expect(cookies.find((c) => c.name === 'keel.sid')?.httpOnly).toBe(true);

    // Restart: a new app, store and Redis client; the session lives on in Redis.
    await stopInstance(instance!);
    instance = await startInstance();
    await laptop.reload();
    expect(await laptop.textContent('#whoami')).toContain('alice');

    await signIn(phone);
    expect(await phone.locator('#sessions tbody tr').count()).toBe(2);
    await Promise.all([phone.waitForURL(/message=Ended/), phone.click('#logout-everywhere')]);
    expect(await phone.locator('#login-form').count()).toBe(1);

    await laptop.reload();
    expect(await laptop.locator('#login-form').count()).toBe(1);
    expect(await laptop.locator('#whoami').count()).toBe(0);
    await first.close();
    await second.close();
  }, 30_000);
});
