/**
 * The example APIs protect order creation and payment with Idempotency-Key, in memory mode and
 * in Redis mode: a retried POST /orders creates one order, a retried payment charges once.
 */
import { randomUUID } from 'node:crypto';
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

describe.each(frameworks)('%s example: Idempotency-Key', (_name, createApp) => {
  describe.each(modes)('in %s mode', (_mode, extra) => {
    function makeApp() {
      const tokens = createTokenSigner({ secret: 'test-secret-test-secret-test-secret!' });
      return createApp({ data: createData({ catalogueDelayMs: 0 }), tokens, ...extra() });
    }

    async function login(app: App, username = 'bob', password = 'builder') {
      const res = await request(app).post('/login').send({ username, password }).expect(200);
      return res.body.token as string;
    }

    it('requires a key on POST /orders and creates one order per key', async () => {
      const app = makeApp();
      const token = await login(app);
      const order = { items: [{ productId: 'p-espresso', quantity: 1 }] };
      const missing = await request(app)
        .post('/orders')
        .auth(token, { type: 'bearer' })
        .send(order);
      expect(missing.status).toBe(400);
      expect(missing.body.code).toBe('KEEL_ERR_IDEMPOTENCY_KEY_MISSING');

      const key = `"${randomUUID()}"`;
      const create = () =>
        request(app)
          .post('/orders')
          .set('Idempotency-Key', key)
          .auth(token, { type: 'bearer' })
          .send(order);
      const first = await create().expect(201);
      const retry = await create().expect(201);
      expect(retry.headers['idempotent-replayed']).toBe('true');
      expect(retry.body.id).toBe(first.body.id);
      expect(retry.headers.location).toBe(`/orders/${first.body.id}`);
      const list = await request(app).get('/orders').auth(token, { type: 'bearer' }).expect(200);
      expect(list.body.orders).toHaveLength(1);

      // The same key for another order is a client bug: 422, nothing created.
      const reused = await request(app)
        .post('/orders')
        .set('Idempotency-Key', key)
        .auth(token, { type: 'bearer' })
        .send({ items: [{ productId: 'p-mug', quantity: 3 }] });
      expect(reused.status).toBe(422);

      // Another user with the same key is another record.
      const alice = await login(app, 'alice', 'wonderland');
      const hers = await request(app)
        .post('/orders')
        .set('Idempotency-Key', key)
        .auth(alice, { type: 'bearer' })
        .send(order)
        .expect(201);
      expect(hers.body.id).not.toBe(first.body.id);
    });

    it('replays a retried payment instead of charging (or failing) again', async () => {
      const app = makeApp();
      const token = await login(app);
      const created = await request(app)
        .post('/orders')
        .set('Idempotency-Key', `"${randomUUID()}"`)
        .auth(token, { type: 'bearer' })
        .send({ items: [{ productId: 'p-mug', quantity: 1 }] })
        .expect(201);
      const key = `"${randomUUID()}"`;
      const pay = () =>
        request(app)
          .post(`/orders/${created.body.id}/pay`)
          .set('Idempotency-Key', key)
          .auth(token, { type: 'bearer' });
      const paid = await pay().expect(200);
      const retried = await pay().expect(200);
      expect(retried.headers['idempotent-replayed']).toBe('true');
      expect(retried.body.payment.id).toBe(paid.body.payment.id);
    });
  });
});
