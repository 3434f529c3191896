/**
 * Login in both example apps when Redis cannot store the session (issue 23, item 7): memory
 * full under `noeviction`. The login must answer 503 problem+json and set no cookie naming a
 * session that does not exist — not 200 with a session that was never stored (express-session
 * writes the head before its end-of-request save; the Express app awaits `saveSession`). Once
 * Redis has room again, the same login works. A private Redis: `maxmemory` is server-wide.
 */
import { createRedisClient, type RedisClient } from '@keel/core';
import { createData, createTokenSigner, type ExampleDeps } from '@keel/example-shared';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createApp as createExpressApp } from '../../examples/express-api/src/app.js';
import { createApp as createKoaApp } from '../../examples/koa-api/src/app.js';
import { closeClient, type RedisServer, startRedisServer } from '../support/index.js';

const PROBLEM = /^application\/problem\+json/;

const frameworks: [string, (deps: ExampleDeps) => Parameters<typeof request>[0]][] = [
  ['express', (deps) => createExpressApp(deps)],
  ['koa', (deps) => createKoaApp(deps).callback()],
];

let server: RedisServer;
let admin: RedisClient;
let redis: RedisClient;
const ready = (c: RedisClient) => new Promise((resolve) => c.once('ready', resolve));

beforeAll(async () => {
  server = await startRedisServer();
  admin = createRedisClient(server.url);
  redis = createRedisClient(server.url);
  await Promise.all([ready(admin), ready(redis)]);
});
beforeEach(() => {
  // The apps log every 5xx: expected here.
  vi.spyOn(console, 'error').mockImplementation(() => {});
});
afterEach(async () => {
  vi.restoreAllMocks();
  await admin.config('SET', 'maxmemory', '0');
});
afterAll(async () => {
  await closeClient(redis);
  await closeClient(admin);
  await server.stop();
});

/** `keel.sid` cookies that name a session (a cleared cookie has an empty value). */
function sessionCookies(res: request.Response): string[] {
  const lines = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
  return lines.filter((line) => /^keel\.sid=[^;]+/.test(line));
}

describe.each(frameworks)('%s example login when Redis is full', (_name, createApp) => {
  const makeApp = () =>
    createApp({
      data: createData({ catalogueDelayMs: 0 }),
      tokens: createTokenSigner({ secret: 'test-secret-test-secret-test-secret!' }),
      redis: redis as ExampleDeps['redis'],
    });

  it('answers 503 problem+json with no session cookie, then logs in once there is room', async () => {
    const app = makeApp();
    await admin.config('SET', 'maxmemory', '1');
    const refused = await request(app)
      .post('/login')
      .send({ username: 'bob', password: 'builder' });
    expect(refused.status).toBe(503);
    expect(refused.headers['content-type']).toMatch(PROBLEM);
    expect(refused.body).toMatchObject({ status: 503, code: 'KEEL_ERR_STORE_UNAVAILABLE' });
    expect(sessionCookies(refused)).toEqual([]);

    const form = await request(app)
      .post('/account/login')
      .type('form')
      .send({ username: 'bob', password: 'builder' });
    expect(form.status).toBe(503);
    expect(form.headers['content-type']).toMatch(PROBLEM);
    expect(sessionCookies(form)).toEqual([]);

    await admin.config('SET', 'maxmemory', '0');
    const agent = request.agent(app);
    const accepted = await agent.post('/login').send({ username: 'bob', password: 'builder' });
    expect(accepted.status).toBe(200);
    expect(sessionCookies(accepted)).toHaveLength(1);
    // The session authenticates without the bearer token: it was stored.
    expect((await agent.get('/me').expect(200)).body).toEqual({
      username: 'bob',
      role: 'customer',
    });
  });
});
