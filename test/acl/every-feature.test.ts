/**
 * Every feature under a Redis ACL user holding exactly the rule @keel/core's README documents
 * ("Redis users and ACLs"): the example apps' whole flow (login, session reads, rate limits,
 * the cached catalogue and its invalidation, idempotent orders and their replay, "log out
 * everywhere"), the lock, and the cache's L1 bus. Redis must refuse nothing: `ACL LOG` stays
 * empty. The rule is read from the README itself, so the document and the test cannot drift.
 */
import { readFileSync } from 'node:fs';
import { createCache } from '@keel/cache';
import { createEvents, createRedisClient, type KeelEvent, type RedisClient } from '@keel/core';
import { createData, createTokenSigner, type ExampleDeps } from '@keel/example-shared';
import { createLock } from '@keel/lock';
import type { Redis } from 'ioredis';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp as createExpressApp } from '../../examples/express-api/src/app.js';
import { createApp as createKoaApp } from '../../examples/koa-api/src/app.js';
import { closeClient, type RedisServer, startRedisServer } from '../support/index.js';

/** The `ACL SETUSER keel …` line of the core README, as words. */
function documentedRule(): string[] {
  const readme = readFileSync(new URL('../../packages/core/README.md', import.meta.url), 'utf8');
  const line = readme.split('\n').find((l) => l.startsWith('ACL SETUSER keel '));
  if (!line) throw new Error('packages/core/README.md lost its "ACL SETUSER keel" rule');
  return line.trim().split(/\s+/).slice(2);
}

let server: RedisServer;
let admin: RedisClient;
let keel: RedisClient;
beforeAll(async () => {
  server = await startRedisServer();
  admin = createRedisClient(server.url);
  await new Promise((resolve) => admin.once('ready', resolve));
  await admin.call('ACL', 'SETUSER', ...documentedRule().map((w) => w.replace('>password', '>pw')));
  keel = createRedisClient({ url: server.url, redis: { username: 'keel', password: 'pw' } });
  await new Promise((resolve) => keel.once('ready', resolve));
});
afterAll(async () => {
  await closeClient(keel);
  await closeClient(admin);
  await server.stop();
});

async function expectNothingRefused(): Promise<void> {
  const log = (await admin.call('ACL', 'LOG')) as unknown[][];
  const entries = log.map((entry) => {
    const fields: Record<string, unknown> = {};
    for (let i = 0; i < entry.length; i += 2) fields[String(entry[i])] = entry[i + 1];
    return `${fields.reason} ${fields.object}`;
  });
  expect(entries).toEqual([]);
}

const frameworks: [string, (deps: ExampleDeps) => Parameters<typeof request>[0]][] = [
  ['express', (deps) => createExpressApp(deps)],
  ['koa', (deps) => createKoaApp(deps).callback()],
];

describe.each(frameworks)('%s example app under the documented ACL user', (_name, createApp) => {
  it('runs every flow without a single refusal', async () => {
    const app = createApp({
      data: createData({ catalogueDelayMs: 0 }),
      tokens: createTokenSigner({ secret: 'test-secret-test-secret-test-secret!' }),
      redis: keel as Redis,
    });
    const agent = request.agent(app);
    await agent.post('/login').send({ username: 'bob', password: 'builder' }).expect(200);
    expect((await agent.get('/me').expect(200)).body).toMatchObject({ username: 'bob' });
    await agent.get('/catalogue').expect(200);
    await agent.get('/catalogue').expect(200);
    const order = { items: [{ productId: 'p-espresso', quantity: 1 }] };
    const first = await agent.post('/orders').set('Idempotency-Key', '"acl-1"').send(order);
    expect(first.status).toBe(201);
    const replay = await agent.post('/orders').set('Idempotency-Key', '"acl-1"').send(order);
    expect(replay.status).toBe(201);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect((await agent.get('/sessions').expect(200)).body.sessions).toHaveLength(1);
    await agent.post('/logout-everywhere').expect(200);
    expect((await agent.get('/me')).status).toBe(401);

    const admins = request.agent(app);
    await admins.post('/login').send({ username: 'alice', password: 'wonderland' }).expect(200);
    await expectNothingRefused();
  });
});

describe('lock and L1 bus under the documented ACL user', () => {
  it('acquire, extend, release and an L1-coherent invalidation refuse nothing', async () => {
    const locks = createLock({ client: keel });
    const lock = await locks.acquire('acl:job', { ttlMs: 5_000 });
    expect(lock).toBeDefined();
    await lock!.extend(5_000);
    await lock!.release();

    const seen: KeelEvent[] = [];
    const events = createEvents((e) => seen.push(e));
    const one = createCache({ client: keel, l1: true, events });
    const two = createCache({ client: keel, l1: true, events });
    expect(await one.wrap('acl:item', async () => 'v1', { ttlMs: 10_000, tags: ['t'] })).toBe('v1');
    expect(await two.wrap('acl:item', async () => 'v2', { ttlMs: 10_000, tags: ['t'] })).toBe('v1');
    await one.invalidate({ tags: ['t'] });
    // The other instance's L1 learns of it over the bus, within moments.
    for (let i = 0; i < 50 && (await two.get('acl:item')) !== undefined; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await two.wrap('acl:item', async () => 'v3', { ttlMs: 10_000, tags: ['t'] })).toBe('v3');
    expect(seen.filter((e) => e.name === 'keel.warning')).toEqual([]);
    await one.close?.();
    await two.close?.();
    await expectNothingRefused();
  });
});
