/**
 * Idempotency-Key over HTTP (draft-ietf-httpapi-idempotency-key-header): one scenario list, run
 * against real Express and Koa apps, each on the memory store and on a real Redis.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { PROBLEM_CONTENT_TYPE } from '@keel/core';
import {
  codes,
  createMemoryIdempotencyStore,
  createRedisIdempotencyStore,
  type IdempotencyStore,
} from '@keel/idempotency';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupPrefix, createTestRedis, testPrefix } from '../support/index.js';
import {
  binary,
  deferred,
  eventLog,
  frameworks,
  type Handler,
  type Out,
  type ScenarioOptions,
} from './apps.js';

const redis = createTestRedis();
let cleanup: (() => Promise<unknown>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

const stores: [string, () => IdempotencyStore][] = [
  ['memory', () => createMemoryIdempotencyStore()],
  [
    'redis',
    () => {
      const prefix = testPrefix();
      cleanup = () => cleanupPrefix(redis, prefix);
      return createRedisIdempotencyStore({ client: redis, prefix });
    },
  ],
];

const key = () => `"${randomUUID()}"`;

describe.each(frameworks)('%s idempotency()', (_framework, makeApp) => {
  describe.each(stores)('on the %s store', (_store, makeStore) => {
    /** An app whose handler counts its runs. */
    function setup(handler: Handler, options: ScenarioOptions = {}) {
      const calls: { body: unknown; user: string | undefined }[] = [];
      const log = eventLog();
      const app = makeApp({ store: makeStore(), events: log.events, ...options }, (input) => {
        calls.push({ body: input.body, user: input.user });
        return handler(input);
      });
      return { app, calls, log };
    }

    const created = (): Out => ({
      status: 201,
      json: { id: randomUUID() },
      headers: { Location: '/orders/1', 'X-Request-Id': randomUUID() },
    });

    it('runs the handler once and replays status, body and allowed headers', async () => {
      const { app, calls } = setup(created);
      const k = key();
      const first = await request(app).post('/orders').set('Idempotency-Key', k).send({ a: 1 });
      expect(first.status).toBe(201);
      expect(first.headers['idempotent-replayed']).toBeUndefined();
      const second = await request(app).post('/orders').set('Idempotency-Key', k).send({ a: 1 });
      expect(second.status).toBe(201);
      expect(second.text).toBe(first.text);
      expect(second.headers['idempotent-replayed']).toBe('true');
      expect(second.headers['content-type']).toBe(first.headers['content-type']);
      expect(second.headers.location).toBe('/orders/1');
      // Not on the allow-list: not replayed.
      expect(second.headers['x-request-id']).toBeUndefined();
      expect(calls).toHaveLength(1);
    });

    it('replays a binary body byte for byte', async () => {
      const bytes = Buffer.concat([Buffer.from([0, 0xff, 0xfe, 13, 10]), randomBytes(20_000)]);
      const { app, calls } = setup(() => ({
        status: 200,
        bytes,
        type: 'application/octet-stream',
      }));
      const k = key();
      const send = () =>
        request(app).post('/orders').set('Idempotency-Key', k).send({}).buffer(true).parse(binary);
      const first = await send();
      const second = await send();
      expect(Buffer.compare(first.body as Buffer, bytes)).toBe(0);
      expect(Buffer.compare(second.body as Buffer, bytes)).toBe(0);
      expect(second.headers['content-type']).toBe('application/octet-stream');
      expect(second.headers['content-length']).toBe(String(bytes.length));
      expect(calls).toHaveLength(1);
    });

    it('replays a streamed response', async () => {
      const chunks = ['alpha,', 'beta,', 'gamma'].map((s) => Buffer.from(s));
      const { app, calls } = setup(() => ({ status: 200, stream: chunks, type: 'text/csv' }));
      const k = key();
      const first = await request(app).post('/orders').set('Idempotency-Key', k).send({});
      const second = await request(app).post('/orders').set('Idempotency-Key', k).send({});
      expect(first.text).toBe('alpha,beta,gamma');
      expect(second.text).toBe('alpha,beta,gamma');
      expect(second.headers['content-type']).toMatch(/^text\/csv/);
      expect(calls).toHaveLength(1);
    });

    it('never stores or replays Set-Cookie, even when listed', async () => {
      const { app } = setup(() => ({ ...created(), cookie: 'secret-session' }), {
        replayHeaders: ['Set-Cookie', 'X-Request-Id'],
      });
      const k = key();
      const first = await request(app).post('/orders').set('Idempotency-Key', k).send({});
      expect(first.headers['set-cookie']?.[0]).toMatch(/^sid=secret-session/);
      const second = await request(app).post('/orders').set('Idempotency-Key', k).send({});
      expect(second.headers['set-cookie']).toBeUndefined();
      expect(second.headers['x-request-id']).toBe(first.headers['x-request-id']);
    });

    it('answers 422 when the key is reused for a different request', async () => {
      const { app, calls, log } = setup(created);
      const k = key();
      await request(app).post('/orders').set('Idempotency-Key', k).send({ a: 1 }).expect(201);
      const variants = [
        request(app).post('/orders').set('Idempotency-Key', k).send({ a: 2 }),
        request(app).post('/orders?dry=1').set('Idempotency-Key', k).send({ a: 1 }),
        request(app).patch('/orders').set('Idempotency-Key', k).send({ a: 1 }),
      ];
      for (const pending of variants) {
        const res = await pending;
        expect(res.status).toBe(422);
        expect(res.headers['content-type']).toBe(PROBLEM_CONTENT_TYPE);
        expect(res.body).toMatchObject({ status: 422, code: codes.KEY_REUSED });
      }
      expect(calls).toHaveLength(1);
      expect(log.names().filter((n) => n === 'idempotency.mismatch')).toHaveLength(3);
    });

    it('treats JSON bodies that differ only in key order as the same request', async () => {
      const { app, calls } = setup(created);
      const k = key();
      await request(app)
        .post('/orders')
        .set('Idempotency-Key', k)
        .send({ a: 1, b: { c: 2, d: [1, 2] } })
        .expect(201);
      const res = await request(app)
        .post('/orders')
        .set('Idempotency-Key', k)
        .send({ b: { d: [1, 2], c: 2 }, a: 1 });
      expect(res.headers['idempotent-replayed']).toBe('true');
      expect(calls).toHaveLength(1);
    });

    it('answers 409 with Retry-After while the same key is in flight, then replays', async () => {
      const gate = deferred();
      const started = deferred();
      const { app, calls } = setup(
        async () => {
          started.resolve();
          await gate.promise;
          return created();
        },
        { leaseMs: 20_000 },
      );
      const k = key();
      const first = request(app).post('/orders').set('Idempotency-Key', k).send({}).then();
      await started.promise;
      const conflict = await request(app).post('/orders').set('Idempotency-Key', k).send({});
      expect(conflict.status).toBe(409);
      expect(conflict.headers['retry-after']).toMatch(/^(19|20)$/);
      expect(conflict.headers['content-type']).toBe(PROBLEM_CONTENT_TYPE);
      expect(conflict.body).toMatchObject({ code: codes.REQUEST_IN_FLIGHT });
      gate.resolve();
      const done = await first;
      expect(done.status).toBe(201);
      const replay = await request(app).post('/orders').set('Idempotency-Key', k).send({});
      expect(replay.text).toBe(done.text);
      expect(calls).toHaveLength(1);
    });

    it('with waitMs, waits for the request in flight and replays its response', async () => {
      const gate = deferred();
      const started = deferred();
      const { app, calls, log } = setup(
        async () => {
          started.resolve();
          await gate.promise;
          return created();
        },
        { waitMs: 5000 },
      );
      const k = key();
      const first = request(app).post('/orders').set('Idempotency-Key', k).send({}).then();
      await started.promise;
      const waiting = log.next('idempotency.waiting');
      const second = request(app).post('/orders').set('Idempotency-Key', k).send({}).then();
      await waiting;
      gate.resolve();
      const [a, b] = await Promise.all([first, second]);
      expect(b.status).toBe(201);
      expect(b.headers['idempotent-replayed']).toBe('true');
      expect(b.text).toBe(a.text);
      expect(calls).toHaveLength(1);
    });

    it('stores 4xx responses, and releases the claim on 5xx so a retry runs again', async () => {
      const answers: Out[] = [
        { status: 503, json: { error: 'upstream down' } },
        { status: 404, json: { error: 'no such product' } },
      ];
      const { app, calls, log } = setup(() => answers.shift() ?? created());
      const k = key();
      const send = () => request(app).post('/orders').set('Idempotency-Key', k).send({});
      expect((await send()).status).toBe(503);
      expect((await send()).status).toBe(404);
      const replay = await send();
      expect(replay.status).toBe(404);
      expect(replay.headers['idempotent-replayed']).toBe('true');
      expect(calls).toHaveLength(2);
      expect(log.seen.find((e) => e.name === 'idempotency.released')?.attributes).toMatchObject({
        reason: 'status',
        status: 503,
      });
    });

    it('releases the claim when the handler throws', async () => {
      let fail = true;
      const { app, calls } = setup(() => {
        if (fail) {
          fail = false;
          throw new Error('boom');
        }
        return created();
      });
      const k = key();
      const send = () => request(app).post('/orders').set('Idempotency-Key', k).send({});
      expect((await send()).status).toBe(500);
      expect((await send()).status).toBe(201);
      expect((await send()).headers['idempotent-replayed']).toBe('true');
      expect(calls).toHaveLength(2);
    });

    it('answers 410 to retries of a response too large to store, without running it again', async () => {
      const { app, calls, log } = setup(() => ({ status: 200, text: 'x'.repeat(5000) }), {
        maxResponseBytes: 1000,
      });
      const k = key();
      const first = await request(app).post('/orders').set('Idempotency-Key', k).send({});
      expect(first.text).toHaveLength(5000);
      const retry = await request(app).post('/orders').set('Idempotency-Key', k).send({});
      expect(retry.status).toBe(410);
      expect(retry.body).toMatchObject({ code: codes.RESPONSE_NOT_STORED, originalStatus: 200 });
      expect(calls).toHaveLength(1);
      expect(log.seen.find((e) => e.name === 'idempotency.completed')?.attributes).toMatchObject({
        stored: false,
      });
    });

    it('keeps scopes apart: two users with the same key each get their own response', async () => {
      const { app, calls } = setup((input) => ({ status: 201, json: { owner: input.user } }));
      const k = key();
      const as = (user: string) =>
        request(app).post('/orders').set('Idempotency-Key', k).set('x-user', user).send({});
      expect((await as('alice')).body).toEqual({ owner: 'alice' });
      expect((await as('bob')).body).toEqual({ owner: 'bob' });
      const replay = await as('alice');
      expect(replay.body).toEqual({ owner: 'alice' });
      expect(replay.headers['idempotent-replayed']).toBe('true');
      expect(calls).toHaveLength(2);
    });

    it('answers 400 when a required key is missing, and runs unprotected when not required', async () => {
      const strict = setup(created, { required: true });
      const res = await request(strict.app).post('/orders').send({});
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toBe(PROBLEM_CONTENT_TYPE);
      expect(res.body).toMatchObject({ code: codes.KEY_MISSING, status: 400 });
      expect(strict.calls).toHaveLength(0);

      const lax = setup(created);
      await request(lax.app).post('/orders').send({}).expect(201);
      await request(lax.app).post('/orders').send({}).expect(201);
      expect(lax.calls).toHaveLength(2);
    });

    it('answers 400 for keys that are not a valid structured-field string', async () => {
      const { app, calls } = setup(created);
      for (const bad of ['unquoted', '""', `"${'k'.repeat(256)}"`, '"a", "b"', '"x" "y"', '12']) {
        const res = await request(app).post('/orders').set('Idempotency-Key', bad).send({});
        expect(res.status, bad).toBe(400);
        expect(res.body).toMatchObject({ code: codes.KEY_INVALID });
      }
      expect(calls).toHaveLength(0);
    });

    it('accepts unquoted keys only when acceptUnquotedKeys is on', async () => {
      const { app, calls } = setup(created, { acceptUnquotedKeys: true });
      const k = randomUUID();
      await request(app).post('/orders').set('Idempotency-Key', k).send({}).expect(201);
      const replay = await request(app).post('/orders').set('Idempotency-Key', `"${k}"`).send({});
      expect(replay.headers['idempotent-replayed']).toBe('true');
      expect(calls).toHaveLength(1);
    });

    it('leaves methods it does not cover alone', async () => {
      const { app, calls } = setup(() => ({ status: 200, json: { ok: true } }));
      const k = key();
      await request(app).get('/orders').set('Idempotency-Key', k).expect(200);
      await request(app).get('/orders').set('Idempotency-Key', k).expect(200);
      expect(calls).toHaveLength(2);
    });
  });
});
