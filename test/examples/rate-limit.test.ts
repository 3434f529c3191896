/**
 * The example APIs' rate limits: a global per-client limit on every route and a stricter limit
 * on failed logins, with RateLimit headers (draft-ietf-httpapi-ratelimit-headers).
 *
 * The 429 paths run in memory mode only: in Redis mode the examples share one Redis under the
 * default prefix, and a spent login limit for 127.0.0.1 would leak into other example tests.
 */
import { createData, createTokenSigner, type ExampleDeps } from '@keel/example-shared';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { createApp as createExpressApp } from '../../examples/express-api/src/app.js';
import { createApp as createKoaApp } from '../../examples/koa-api/src/app.js';
import { createTestRedis, testPrefix } from '../support/index.js';

type App = Parameters<typeof request>[0];

const frameworks: [string, (deps: ExampleDeps) => App][] = [
  ['express', (deps) => createExpressApp(deps)],
  ['koa', (deps) => createKoaApp(deps).callback()],
];

function deps(extra: Partial<ExampleDeps> = {}): ExampleDeps {
  const tokens = createTokenSigner({ secret: 'test-secret-test-secret-test-secret!' });
  return { data: createData({ catalogueDelayMs: 0 }), tokens, ...extra };
}

describe.each(frameworks)('%s example: rate limits', (_name, createApp) => {
  it('sends the global policy on every response', async () => {
    const res = await request(createApp(deps())).get('/catalogue').expect(200);
    expect(res.headers['ratelimit-policy']).toBe('"global";q=300;w=60');
    expect(res.headers.ratelimit).toMatch(/^"global";r=299;t=\d+$/);
  });

  it('limits failed logins per client (successful ones are given back), with both policies listed', async () => {
    const app = createApp(deps());
    for (let i = 0; i < 3; i++) {
      await request(app).post('/login').send({ username: 'bob', password: 'builder' }).expect(200);
    }
    for (let i = 0; i < 10; i++) {
      await request(app).post('/login').send({ username: 'bob', password: 'wrong' }).expect(401);
    }
    const limited = await request(app)
      .post('/login')
      .send({ username: 'bob', password: 'builder' });
    expect(limited.status).toBe(429);
    expect(limited.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(limited.body['violated-policies']).toEqual(['login']);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.headers['ratelimit-policy']).toBe('"global";q=300;w=60, "login";q=10;w=900');
    // Other routes are still open to this client.
    await request(app).get('/catalogue').expect(200);
  });

  it('counts in Redis in Redis mode', async () => {
    const res = await request(
      createApp(deps({ redis: createTestRedis(), keyPrefix: testPrefix() })),
    )
      .get('/catalogue')
      .expect(200);
    expect(res.headers['ratelimit-policy']).toBe('"global";q=300;w=60');
  });
});
