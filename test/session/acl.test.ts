/**
 * Sessions under an ACL user holding exactly the rule packages/session/README.md documents
 * (issue 23, item 4): with the default prefixes (`sess:`, `{sess:`, `keel:sess:`), and with
 * `prefix: 'keel:sess:'` under the single pattern `~keel:*`. Login, read, write, "my sessions",
 * log out everywhere, logout and every bulk call, on Express and Koa; Redis must refuse nothing.
 */
import { readFileSync } from 'node:fs';
import { createRedisClient, type RedisClient } from '@keel/core';
import * as keelExpress from '@keel/express';
import * as keelKoa from '@keel/koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanupPrefix,
  closeClient,
  type RedisServer,
  startRedisServer,
} from '../support/index.js';
import { CookieJar, call, expressSessionApp, koaSessionApp, type SessionApp } from './apps.js';

const readme = readFileSync(new URL('../../packages/session/README.md', import.meta.url), 'utf8');

/** The documented `ACL SETUSER <user> …` line, as arguments after `ACL SETUSER`. */
function documentedRule(user: string): string[] {
  const line = readme.split('\n').find((l) => l.startsWith(`ACL SETUSER ${user} `));
  if (!line) throw new Error(`packages/session/README.md documents no ACL rule for ${user}`);
  return line.trim().split(/\s+/).slice(2);
}

let server: RedisServer;
let admin: RedisClient;
const ready = (c: RedisClient) => new Promise((resolve) => c.once('ready', resolve));

beforeAll(async () => {
  server = await startRedisServer();
  admin = createRedisClient(server.url);
  await ready(admin);
});
afterAll(async () => {
  await closeClient(admin);
  await server.stop();
});

const userId = (s: Record<string, unknown>) => (typeof s.user === 'string' ? s.user : undefined);

interface Variant {
  user: string;
  /** The store's `prefix`; undefined = the default. */
  prefix: string | undefined;
  /** Every key the run leaves must match one of these. */
  patterns: RegExp[];
}

const variants: Variant[] = [
  { user: 'sessions', prefix: undefined, patterns: [/^sess:/, /^\{sess:/, /^keel:sess:/] },
  { user: 'keel', prefix: 'keel:sess:', patterns: [/^keel:/] },
];

type Framework = 'express' | 'koa';

interface Stores {
  app: SessionApp;
  /** Bulk calls, through a store without the index (SCAN) and one with it. */
  bulk: () => Promise<void>;
}

async function makeStores(framework: Framework, client: RedisClient, prefix?: string) {
  const options = { client, ...(prefix === undefined ? {} : { prefix }) };
  if (framework === 'express') {
    const store = new keelExpress.SessionStore({
      ...options,
      index: true,
      userId: (s) => userId(s as unknown as Record<string, unknown>),
    });
    const scanning = new keelExpress.SessionStore(options);
    return {
      app: await expressSessionApp(store),
      bulk: async () => {
        expect(await store.length()).toBeGreaterThan(0);
        expect(await store.ids()).not.toHaveLength(0);
        expect(await scanning.length()).toBeGreaterThan(0);
        expect(await scanning.all()).not.toHaveLength(0);
        await scanning.clear();
        expect(await scanning.length()).toBe(0);
      },
    } satisfies Stores;
  }
  const store = new keelKoa.SessionStore({ ...options, index: true, userId });
  const scanning = new keelKoa.SessionStore(options);
  return {
    app: await koaSessionApp(store),
    bulk: async () => {
      expect(await store.repository.length()).toBeGreaterThan(0);
      expect(await store.repository.ids()).not.toHaveLength(0);
      expect(await scanning.repository.ids()).not.toHaveLength(0);
      expect(await scanning.repository.all()).not.toHaveLength(0);
      await scanning.repository.clear();
      expect(await scanning.repository.length()).toBe(0);
    },
  } satisfies Stores;
}

describe.each(variants)('sessions under the documented ACL user "$user"', (variant) => {
  it.each<Framework>(['express', 'koa'])('%s: every call succeeds, nothing refused', async (fw) => {
    await admin.call('ACL', 'SETUSER', ...documentedRule(variant.user));
    await admin.call('ACL', 'LOG', 'RESET');
    const client = createRedisClient({
      url: server.url,
      redis: { username: variant.user, password: 'password' },
    });
    await ready(client);
    const { app, bulk } = await makeStores(fw, client, variant.prefix);
    try {
      const laptop = new CookieJar();
      const phone = new CookieJar();
      expect((await call(app, laptop, 'POST', '/login', { user: 'ann' })).status).toBe(200);
      expect((await call(app, phone, 'POST', '/login', { user: 'ann' })).status).toBe(200);
      expect((await call(app, laptop, 'POST', '/set/theme', { value: 'dark' })).status).toBe(200);
      expect((await call(app, laptop, 'GET', '/me')).body).toMatchObject({
        user: 'ann',
        theme: 'dark',
      });
      expect((await call(app, laptop, 'GET', '/sessions')).body).toHaveLength(2);
      const keys = await admin.keys('*');
      for (const key of keys) {
        expect(
          variant.patterns.some((p) => p.test(key)),
          `${key} is covered`,
        ).toBe(true);
      }
      await bulk();
      expect((await call(app, laptop, 'POST', '/login', { user: 'ann' })).status).toBe(200);
      expect((await call(app, laptop, 'POST', '/logout-everywhere')).body).toEqual({ ended: 0 });
      expect((await call(app, laptop, 'POST', '/logout')).status).toBe(200);
      expect((await call(app, laptop, 'GET', '/me')).body).not.toHaveProperty('user');
      expect(await admin.call('ACL', 'LOG')).toEqual([]);
    } finally {
      await app.close();
      await closeClient(client);
      for (const family of ['sess:', '{sess:', 'keel:'])
        await cleanupPrefix(admin as never, family);
    }
  });
});
