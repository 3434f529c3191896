import { randomUUID } from 'node:crypto';
import { createData, createTokenSigner, type ExampleDeps } from '@keel/example-shared';
import request from 'supertest';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { createApp as createExpressApp } from '../../examples/express-api/src/app.js';
import { createApp as createKoaApp } from '../../examples/koa-api/src/app.js';
import { createTestRedis } from '../support/index.js';

const PROBLEM = /^application\/problem\+json/;

/** The same scenarios run against both example apps. */
const frameworks: [string, (deps: ExampleDeps) => Parameters<typeof request>[0]][] = [
  ['express', (deps) => createExpressApp(deps)],
  ['koa', (deps) => createKoaApp(deps).callback()],
];

async function login(app: Parameters<typeof request>[0], username = 'bob', password = 'builder') {
  const res = await request(app).post('/login').send({ username, password }).expect(200);
  return res.body.token as string;
}

describe.each(frameworks)('%s example API', (_name, createApp) => {
  function makeApp(deps: Partial<ExampleDeps> = {}) {
    const tokens = createTokenSigner({ secret: 'test-secret-test-secret-test-secret!' });
    return createApp({ data: createData({ catalogueDelayMs: 0 }), tokens, ...deps });
  }

  let app: ReturnType<typeof makeApp>;
  beforeEach(() => {
    app = makeApp();
  });

  it('reports memory mode on /health', async () => {
    const res = await request(app).get('/health').expect(200);
    expect(res.body).toEqual({ status: 'ok', mode: 'memory' });
  });

  it('reports redis mode and a PING on /health', async () => {
    const redis = createTestRedis();
    await redis.ping(); // connected before the app's first PING
    const res = await request(makeApp({ redis })).get('/health').expect(200);
    expect(res.body).toMatchObject({ status: 'ok', mode: 'redis', redis: { ping: 'PONG' } });
  });

  it('answers /health with 503 problem+json when Redis is unreachable', async () => {
    // Nothing listens on port 1 and there is no offline queue: PING fails, as while Redis is down.
    const redis = createTestRedis({
      url: 'redis://127.0.0.1:1',
      enableOfflineQueue: false,
      retryStrategy: () => 50,
    });
    const res = await request(makeApp({ redis })).get('/health');
    expect(res.status).toBe(503);
    expect(res.headers['content-type']).toMatch(PROBLEM);
    expect(res.body).toMatchObject({ status: 503, code: 'REDIS_UNAVAILABLE', mode: 'redis' });
  });

  it('answers an unexpected error with a 500 problem+json that leaks nothing', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const data = createData({ catalogueDelayMs: 0 });
    data.listProducts = async () => {
      throw new Error('connection to db-7.internal refused');
    };
    const res = await request(makeApp({ data })).get('/catalogue');
    expect(res.status).toBe(500);
    expect(res.headers['content-type']).toMatch(PROBLEM);
    expect(res.body).toMatchObject({ status: 500, code: 'KEEL_ERR_INTERNAL' });
    expect(JSON.stringify(res.body)).not.toContain('db-7');
  });

  it('logs in a demo user and knows who they are', async () => {
    const login = await request(app)
      .post('/login')
      .send({ username: 'alice', password: 'wonderland' })
      .expect(200);
    expect(login.body).toMatchObject({
      tokenType: 'Bearer',
      user: { username: 'alice', role: 'admin' },
    });
    const me = await request(app).get('/me').auth(login.body.token, { type: 'bearer' }).expect(200);
    expect(me.body).toEqual({ username: 'alice', role: 'admin' });
  });

  it('rejects a wrong password with 401 problem+json', async () => {
    const res = await request(app).post('/login').send({ username: 'bob', password: 'nope' });
    expect(res.status).toBe(401);
    expect(res.headers['content-type']).toMatch(PROBLEM);
    expect(res.body).toMatchObject({ status: 401, code: 'INVALID_CREDENTIALS' });
  });

  it('answers 401 problem+json without a token, or with a forged one', async () => {
    const missing = await request(app).get('/orders');
    expect(missing.status).toBe(401);
    expect(missing.headers['content-type']).toMatch(PROBLEM);
    expect(missing.headers['www-authenticate']).toMatch(/^Bearer /);
    expect(missing.body).toMatchObject({
      type: 'urn:keel-example:problem:unauthorized',
      title: 'Authentication required',
      status: 401,
      code: 'UNAUTHORIZED',
    });
    const token = await login(app);
    const forged = await request(app)
      .get('/me')
      .auth(`${token.slice(0, -2)}xx`, { type: 'bearer' });
    expect(forged.status).toBe(401);
    expect(forged.headers['content-type']).toMatch(PROBLEM);
  });

  it('creates, lists, reads and pays an order', async () => {
    const token = await login(app);
    const created = await request(app)
      .post('/orders')
      .set('Idempotency-Key', `"${randomUUID()}"`)
      .auth(token, { type: 'bearer' })
      .send({
        items: [
          { productId: 'p-espresso', quantity: 2 },
          { productId: 'p-mug', quantity: 1 },
        ],
      })
      .expect(201);
    const order = created.body;
    expect(order).toMatchObject({
      status: 'pending',
      totalCents: 2 * 2490 + 1800,
      currency: 'EUR',
    });
    expect(created.headers.location).toBe(`/orders/${order.id}`);

    const list = await request(app).get('/orders').auth(token, { type: 'bearer' }).expect(200);
    expect(list.body.orders.map((o: { id: string }) => o.id)).toEqual([order.id]);

    const one = await request(app)
      .get(`/orders/${order.id}`)
      .auth(token, { type: 'bearer' })
      .expect(200);
    expect(one.body.id).toBe(order.id);

    const paid = await request(app)
      .post(`/orders/${order.id}/pay`)
      .auth(token, { type: 'bearer' })
      .expect(200);
    expect(paid.body.order).toMatchObject({ id: order.id, status: 'paid' });
    expect(paid.body.payment).toMatchObject({ orderId: order.id, amountCents: order.totalCents });

    const again = await request(app)
      .post(`/orders/${order.id}/pay`)
      .auth(token, { type: 'bearer' });
    expect(again.status).toBe(409);
    expect(again.headers['content-type']).toMatch(PROBLEM);
    expect(again.body.code).toBe('ORDER_ALREADY_PAID');
  });

  it('rejects an invalid order with 400 problem+json pointing at the field', async () => {
    const token = await login(app);
    const res = await request(app)
      .post('/orders')
      .set('Idempotency-Key', `"${randomUUID()}"`)
      .auth(token, { type: 'bearer' })
      .send({ items: [{ productId: 'p-nope', quantity: 1 }] });
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(PROBLEM);
    expect(res.body).toMatchObject({
      code: 'VALIDATION_FAILED',
      errors: [{ pointer: '/items/0/productId' }],
    });
  });

  it('answers 400 problem+json for malformed JSON', async () => {
    const res = await request(app)
      .post('/login')
      .set('content-type', 'application/json')
      .send('{"username":');
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(PROBLEM);
  });

  it("answers 404 problem+json for an unknown order, another user's order and an unknown route", async () => {
    const bob = await login(app);
    const alice = await login(app, 'alice', 'wonderland');
    const unknown = await request(app).get('/orders/ord_nope').auth(bob, { type: 'bearer' });
    expect(unknown.status).toBe(404);
    expect(unknown.headers['content-type']).toMatch(PROBLEM);
    expect(unknown.body).toMatchObject({ status: 404, code: 'NOT_FOUND' });

    const created = await request(app)
      .post('/orders')
      .set('Idempotency-Key', `"${randomUUID()}"`)
      .auth(alice, { type: 'bearer' })
      .send({ items: [{ productId: 'p-mug', quantity: 1 }] })
      .expect(201);
    const foreign = await request(app)
      .get(`/orders/${created.body.id}`)
      .auth(bob, { type: 'bearer' });
    expect(foreign.status).toBe(404);

    const route = await request(app).get('/nowhere');
    expect(route.status).toBe(404);
    expect(route.headers['content-type']).toMatch(PROBLEM);
  });

  it('lists the catalogue and lets only an admin change a price', async () => {
    const list = await request(app).get('/catalogue').expect(200);
    expect(list.body.products.length).toBeGreaterThan(0);

    const bob = await login(app);
    const denied = await request(app)
      .patch('/catalogue/p-mug')
      .auth(bob, { type: 'bearer' })
      .send({ priceCents: 1 });
    expect(denied.status).toBe(403);
    expect(denied.headers['content-type']).toMatch(PROBLEM);

    const alice = await login(app, 'alice', 'wonderland');
    const changed = await request(app)
      .patch('/catalogue/p-mug')
      .auth(alice, { type: 'bearer' })
      .send({ priceCents: 1990 })
      .expect(200);
    expect(changed.body).toMatchObject({ id: 'p-mug', priceCents: 1990 });
    const after = await request(app).get('/catalogue').expect(200);
    expect(after.body.products.find((p: { id: string }) => p.id === 'p-mug').priceCents).toBe(1990);
  });
});
