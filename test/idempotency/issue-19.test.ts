/**
 * Issue 19 item 1: a deeply nested JSON body (4,000 arrays, 8 KB — under any body limit)
 * overflowed the stack in the fingerprint's canonical JSON and answered 500 on every idempotent
 * route. Now it is refused with 400 problem+json naming the limit, before any record is touched:
 * the handler does not run and nothing reaches the store. A body at the limit still works.
 * Express and Koa, on memory, standalone Redis and a Redis Cluster.
 */
import { randomUUID } from 'node:crypto';
import { createManualClock, PROBLEM_CONTENT_TYPE } from '@keel/core';
import {
  codes,
  createMemoryIdempotencyStore,
  createRedisIdempotencyStore,
  type IdempotencyStore,
} from '@keel/idempotency';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { cleanupPrefix, createTestCluster, createTestRedis, testPrefix } from '../support/index.js';
import { eventLog, frameworks } from './apps.js';

interface Backend {
  store: IdempotencyStore;
  /** Redis: keys the store holds under its prefix (deleted as they are counted). */
  storedKeys?: () => Promise<number>;
}

/** A store that counts every call it delegates: "nothing stored" means no call reached it. */
function counted(store: IdempotencyStore): { store: IdempotencyStore; calls: () => number } {
  let calls = 0;
  // The engine uses only these four; each call is counted, then passed through unchanged.
  const wrapped: IdempotencyStore = {
    kind: store.kind,
    acquire(r) {
      calls++;
      return store.acquire(r);
    },
    complete(...a) {
      calls++;
      return store.complete(...a);
    },
    release(...a) {
      calls++;
      return store.release(...a);
    },
    renew(...a) {
      calls++;
      return store.renew(...a);
    },
  };
  return { store: wrapped, calls: () => calls };
}

const backends: [string, () => Promise<Backend>][] = [
  [
    'memory',
    async () => {
      const store = createMemoryIdempotencyStore({ clock: createManualClock() });
      return { store };
    },
  ],
  [
    'standalone Redis',
    async () => {
      const client = createTestRedis();
      const prefix = testPrefix();
      const store = createRedisIdempotencyStore({ client, prefix });
      return { store, storedKeys: () => cleanupPrefix(client, prefix) };
    },
  ],
  [
    'Redis Cluster',
    async () => {
      const client = await createTestCluster();
      const prefix = testPrefix();
      const store = createRedisIdempotencyStore({ client, prefix });
      return { store, storedKeys: () => cleanupPrefix(client, prefix) };
    },
  ],
];

/** `depth` nested arrays, as JSON text. */
const arrays = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

describe.each(frameworks)('%s idempotency(): hostile JSON bodies', (_name, makeApp) => {
  describe.each(backends)('on %s', (_backend, makeBackend) => {
    async function setup(options: { maxBodyDepth?: number } = {}) {
      const backend = await makeBackend();
      const { store, calls } = counted(backend.store);
      const log = eventLog();
      const runs = { count: 0 };
      const app = makeApp({ store, events: log.events, renewEveryMs: 0, ...options }, () => {
        runs.count++;
        return { status: 201, json: { id: runs.count } };
      });
      return { app, log, runs, calls, storedKeys: backend.storedKeys };
    }

    const post = (app: Parameters<typeof request>[0], key: string, body: string) =>
      request(app)
        .post('/orders')
        .set('Idempotency-Key', `"${key}"`)
        .set('Content-Type', 'application/json')
        .send(body);

    it('4,000 nested arrays: 400 problem+json stating the limit; handler not run; nothing stored', async () => {
      const { app, log, runs, calls, storedKeys } = await setup();
      const key = randomUUID();
      const res = await post(app, key, arrays(4000));
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toBe(PROBLEM_CONTENT_TYPE);
      expect(res.body).toMatchObject({
        type: 'urn:keel:problem:idempotency-body-too-deep',
        code: codes.BODY_TOO_DEEP,
        status: 400,
        maxDepth: 100,
      });
      expect(res.body.detail).toMatch(/at most 100/);
      expect(runs.count).toBe(0);
      expect(calls()).toBe(0);
      expect(log.seen.find((e) => e.name === 'idempotency.rejected')?.attributes).toEqual({
        reason: 'body-too-deep',
      });
      if (storedKeys) expect(await storedKeys()).toBe(0);

      // The key was never claimed: the same key with a sane body runs once, then replays.
      expect((await post(app, key, '{"item":"tea"}')).status).toBe(201);
      const replay = await post(app, key, '{"item":"tea"}');
      expect(replay.status).toBe(201);
      expect(replay.headers['idempotent-replayed']).toBe('true');
      expect(runs.count).toBe(1);
    });

    it('a body at the limit runs and replays; maxBodyDepth moves the limit', async () => {
      const { app, runs } = await setup({ maxBodyDepth: 5 });
      const key = randomUUID();
      expect((await post(app, key, arrays(5))).status).toBe(201);
      expect((await post(app, key, arrays(5))).headers['idempotent-replayed']).toBe('true');
      const deeper = await post(app, randomUUID(), '{"a":{"b":{"c":{"d":{"e":{}}}}}}');
      expect(deeper.status).toBe(400);
      expect(deeper.body).toMatchObject({ code: codes.BODY_TOO_DEEP, maxDepth: 5 });
      expect(runs.count).toBe(1);
    });
  });
});
