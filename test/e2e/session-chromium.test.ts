/**
 * End to end in a real browser: Debian's headless Chromium (driven by playwright-core, started
 * by this test with a fresh profile) against the Express example app in Redis mode. Sign in on
 * the "my sessions" page, restart the server (a new app, store and Redis client on the same
 * port) and still be signed in, then "log out everywhere" from a second browser context and
 * watch the first one end.
 *
 * Chromium is required, not optional: without it this test fails with the install command.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRedisClient } from '@keel/core';
import { createData, createTokenSigner } from '@keel/example-shared';
import type { Redis } from 'ioredis';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../examples/express-api/src/app.js';
import { cleanupPrefix, closeClient, freePort, redisUrl, testPrefix } from '../support/index.js';

const CHROMIUM =
  process.env.CHROMIUM_PATH ??
  ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((path) => existsSync(path));

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** One running instance of the example: app, store and Redis client of its own. */
interface Instance {
  server: Server;
  redis: Redis;
}

describe('sessions in headless Chromium', () => {
  const prefix = testPrefix();
  let port: number;
  let browser: Browser | undefined;
  let chrome: ChildProcess | undefined;
  let instance: Instance | undefined;
  const profile = mkdtempSync(join(tmpdir(), 'keel-chromium-'));

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
    await browser?.close().catch(() => {});
    if (chrome && chrome.exitCode === null) {
      chrome.kill('SIGKILL');
      await once(chrome, 'exit');
    }
    if (instance) await stopInstance(instance);
    // Chromium's helper processes outlive a SIGKILL of the browser for a moment, still writing
    // into the profile: retry instead of failing on ENOTEMPTY.
    rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    const cleanup = createRedisClient({ url: redisUrl() }) as Redis;
    await once(cleanup, 'ready');
    await cleanupPrefix(cleanup, prefix);
    await cleanupPrefix(cleanup, `{${prefix}`);
    await closeClient(cleanup);
  });

  /** Start Chromium ourselves (fresh profile, loopback DevTools port) and attach over CDP. */
  async function launchChromium(): Promise<Browser> {
    if (!CHROMIUM) {
      throw new Error(
        'Chromium is not installed: run `apt-get install -y chromium` (Debian) or set CHROMIUM_PATH. ' +
          "Keel's browser test needs it and never skips.",
      );
    }
    chrome = spawn(
      CHROMIUM,
      [
        ...FLAGS,
        `--user-data-dir=${profile}`,
        '--remote-debugging-address=127.0.0.1',
        '--remote-debugging-port=0',
        'about:blank',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const endpoint = await new Promise<string>((resolve, reject) => {
      let output = '';
      const timer = setTimeout(
        () => reject(new Error(`Chromium did not open its DevTools port in 10 s:\n${output}`)),
        10_000,
      );
      chrome!.stderr!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const match = /DevTools listening on (ws:\/\/\S+)/.exec(output);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      });
      chrome!.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`Chromium exited with code ${code}:\n${output}`));
      });
    });
    return chromium.connectOverCDP(endpoint, { timeout: 10_000 });
  }

  const account = () => `http://127.0.0.1:${port}/account`;
  async function signIn(page: Page): Promise<void> {
    await page.goto(account());
    await page.fill('#username', 'alice');
    await page.fill('#password', 'wonderland');
    await Promise.all([page.waitForURL(account()), page.click('#sign-in')]);
    await expect.poll(() => page.textContent('#whoami')).toContain('alice');
  }

  it('signs in, survives a server restart, and "log out everywhere" ends the other browser', async () => {
    browser = await launchChromium();
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
