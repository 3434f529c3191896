/**
 * The example APIs' GraphQL-style endpoint (examples/shared/src/graphql.ts): persisted
 * operations that cost points, spent per user with the rate limiter's key API
 * (`consume(user, { cost })`), all or nothing per request; a spent user gets a 429
 * problem+json with Retry-After while another user still gets answers. Express and Koa, in
 * memory and Redis mode.
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
const modes: [string, () => Partial<ExampleDeps>][] = [
  ['memory', () => ({})],
  ['redis', () => ({ redis: createTestRedis(), keyPrefix: testPrefix() })],
];

describe.each(frameworks)('%s example: GraphQL-style endpoint limited by key', (_n, createApp) => {
  describe.each(modes)('in %s mode', (_mode, extra) => {
    function makeApp() {
      const tokens = createTokenSigner({ secret: 'test-secret-test-secret-test-secret!' });
      return createApp({ data: createData({ catalogueDelayMs: 0 }), tokens, ...extra() });
    }

    async function login(app: App, username: string, password: string) {
      const res = await request(app).post('/login').send({ username, password }).expect(200);
      return res.body.token as string;
    }

    it("answers operations and batches, spending their points from the caller's bucket", async () => {
      const app = makeApp();
      const token = await login(app, 'bob', 'builder');
      const graphql = (body: unknown) =>
        request(app)
          .post('/graphql')
          .auth(token, { type: 'bearer' })
          .send(body as object);
      const one = await graphql({ operationName: 'Catalogue' }).expect(200);
      expect(one.body.data.catalogue.length).toBeGreaterThan(0);
      expect(one.body.extensions.rateLimit).toEqual({ cost: 1, remaining: 19 });
      const batch = await graphql([{ operationName: 'Me' }, { operationName: 'MyOrders' }]);
      expect(batch.status).toBe(200);
      expect(batch.body[0].data.me).toEqual({ username: 'bob', role: 'customer' });
      expect(batch.body[1].data.orders).toEqual([]);
      // 20 points at once, refilled at 1 a second: a slow machine may have got some back.
      expect(batch.body[1].extensions.rateLimit.cost).toBe(3);
      expect(batch.body[1].extensions.rateLimit.remaining).toBeGreaterThanOrEqual(16);
      expect(batch.body[1].extensions.rateLimit.remaining).toBeLessThanOrEqual(18);
      const unknown = await graphql({ operationName: 'DropTables' });
      expect(unknown.status).toBe(400);
      expect(unknown.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(unknown.body.errors[0].pointer).toBe('/operationName');
    });

    it('refuses a spent user with 429 and Retry-After, all or nothing, and not another user', async () => {
      const app = makeApp();
      const bob = await login(app, 'bob', 'builder');
      const alice = await login(app, 'alice', 'wonderland');
      const graphql = (token: string, body: unknown) =>
        request(app)
          .post('/graphql')
          .auth(token, { type: 'bearer' })
          .send(body as object);
      const tenOrders = Array.from({ length: 10 }, () => ({ operationName: 'MyOrders' }));
      expect((await graphql(bob, tenOrders.slice(0, 9))).status).toBe(200); // 18 of 20 points
      // Costs 6 with about 2 left: refused, and nothing of it is spent.
      const refused = await graphql(bob, tenOrders.slice(0, 3));
      expect(refused.status).toBe(429);
      expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(refused.body).toMatchObject({
        type: 'https://iana.org/assignments/http-problem-types#quota-exceeded',
        code: 'KEEL_ERR_RATE_LIMITED',
      });
      expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      const cheap = await graphql(bob, { operationName: 'Me' }).expect(200);
      expect(cheap.body.extensions.rateLimit.remaining).toBeLessThan(5);
      expect((await graphql(alice, tenOrders)).status).toBe(200);
      const none = await request(app).post('/graphql').send({ operationName: 'Me' });
      expect(none.status).toBe(401);
    });
  });
});
