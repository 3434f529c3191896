/**
 * Session login in both example apps: `POST /login` starts a session (cookie `keel.sid`) that
 * authenticates without a bearer token, `GET /sessions` lists the user's sessions, "log out
 * everywhere" ends them, and the "my sessions" page signs in through its form. In memory mode,
 * and in Redis mode where a second app instance (a restart) still knows the session.
 */
import { createData, createTokenSigner, type ExampleDeps } from '@keel/example-shared';
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import { createApp as createExpressApp } from '../../examples/express-api/src/app.js';
import { createApp as createKoaApp } from '../../examples/koa-api/src/app.js';
import { cleanupPrefix, createTestRedis, testPrefix } from '../support/index.js';

const frameworks: [string, (deps: ExampleDeps) => Parameters<typeof request>[0]][] = [
  ['express', (deps) => createExpressApp(deps)],
  ['koa', (deps) => createKoaApp(deps).callback()],
];

const redis = createTestRedis();
const prefix = testPrefix();
process.env.SESSION_PREFIX = prefix;
afterAll(async () => {
  await cleanupPrefix(redis, prefix);
  await cleanupPrefix(redis, `{${prefix}`);
});

describe.each(frameworks)('%s example sessions', (_name, createApp) => {
  const makeApp = (deps: Partial<ExampleDeps> = {}) =>
    createApp({
      data: createData({ catalogueDelayMs: 0 }),
      tokens: createTokenSigner({ secret: 'test-secret-test-secret-test-secret!' }),
      ...deps,
    });
  const login = async (
    agent: ReturnType<typeof request.agent>,
    username = 'bob',
    password = 'builder',
  ) => {
    const res = await agent.post('/login').send({ username, password }).expect(200);
    expect(String(res.headers['set-cookie'])).toMatch(/keel\.sid=/);
  };

  it('a login starts a session that authenticates without a token, until logout', async () => {
    const agent = request.agent(makeApp());
    await login(agent);
    expect((await agent.get('/me').expect(200)).body).toEqual({
      username: 'bob',
      role: 'customer',
    });
    await agent.post('/logout').expect(204);
    expect((await agent.get('/me')).status).toBe(401);
  });

  it('lists my sessions and logs out everywhere (Redis, across two app instances)', async () => {
    const laptop = request.agent(makeApp({ redis }));
    const phone = request.agent(makeApp({ redis })); // another instance: shares sessions via Redis
    await login(laptop, 'alice', 'wonderland');
    await login(phone, 'alice', 'wonderland');
    const listed = (await laptop.get('/sessions').expect(200)).body.sessions as {
      current: boolean;
    }[];
    expect(listed).toHaveLength(2);
    expect(listed.filter((s) => s.current)).toHaveLength(1);
    expect((await phone.post('/logout-everywhere').expect(200)).body).toEqual({ ended: 2 });
    expect((await laptop.get('/me')).status).toBe(401);
    expect((await phone.get('/me')).status).toBe(401);
  });

  it('serves the "my sessions" page and signs in through its form', async () => {
    const agent = request.agent(makeApp());
    expect((await agent.get('/account').expect(200)).text).toContain('id="login-form"');
    await agent
      .post('/account/login')
      .type('form')
      .send({ username: 'bob', password: 'wrong' })
      .expect(303)
      .expect('location', /message=Wrong/);
    await agent
      .post('/account/login')
      .type('form')
      .send({ username: 'bob', password: 'builder' })
      .expect(303)
      .expect('location', '/account');
    const page = (await agent.get('/account').expect(200)).text;
    expect(page).toContain('Signed in as <strong>bob</strong>');
    expect(page).toContain('(this one)');
    await agent.post('/account/logout-everywhere').expect(303);
    expect((await agent.get('/account')).text).toContain('id="login-form"');
  });
});
