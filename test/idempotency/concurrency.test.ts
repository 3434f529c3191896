/**
 * Exactly-once under concurrency: 1,000 identical requests at once run the handler once, on
 * memory, standalone Redis and a Cluster. The 1,000 go through the engine directly (what both
 * adapters call); a smaller burst goes over real HTTP for each framework.
 */
import { randomUUID } from 'node:crypto';
import type { KeelRequest } from '@keel/core';
import { createIdempotency } from '@keel/idempotency';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { deferred, frameworks } from './apps.js';
import { type Backend, backends } from './stores.js';

let backend: Backend | undefined;
afterEach(async () => {
  await backend?.cleanup();
  backend = undefined;
});

function post(key: string, body: unknown): KeelRequest {
  return {
    method: 'POST',
    path: '/orders',
    route: undefined,
    search: '',
    headers: { 'idempotency-key': `"${key}"`, 'content-type': 'application/json' },
    remoteAddress: '127.0.0.1',
    body,
    rawBody: undefined,
    bodyParsed: true,
    raw: undefined,
  };
}

describe.each(backends)('1,000 concurrent identical requests on %s', (_name, makeBackend) => {
  it('run the handler exactly once; every other request gets 409, later ones the replay', async () => {
    backend = await makeBackend();
    const engine = createIdempotency({ store: backend.store, scope: () => 'user-1' });
    const key = randomUUID();
    const decisions = await Promise.all(
      Array.from({ length: 1000 }, () => engine.begin(post(key, { item: 'espresso', qty: 2 }))),
    );
    const executing = decisions.filter((d) => d.kind === 'execute');
    expect(executing).toHaveLength(1);
    const reasons = decisions.flatMap((d) => (d.kind === 'respond' ? [d.reason] : []));
    expect(reasons).toHaveLength(999);
    expect(new Set(reasons)).toEqual(new Set(['in-flight']));

    const claim = executing[0]!.kind === 'execute' ? executing[0]!.claim : undefined;
    await engine.finish(claim!, {
      kind: 'complete',
      response: {
        status: 201,
        headers: { 'content-type': 'application/json' },
        body: Buffer.from('{"id":1}'),
      },
    });
    const after = await Promise.all(
      Array.from({ length: 200 }, () => engine.begin(post(key, { qty: 2, item: 'espresso' }))),
    );
    expect(after.every((d) => d.kind === 'respond' && d.reason === 'replayed')).toBe(true);
  });

  describe.each(frameworks)('over HTTP with %s', (_framework, makeApp) => {
    it('a burst of 100 identical POSTs runs the handler once', async () => {
      backend = await makeBackend();
      const gate = deferred();
      let calls = 0;
      const app = makeApp({ store: backend.store }, async () => {
        calls++;
        await gate.promise;
        return { status: 201, json: { id: 'order-1' } };
      });
      const key = `"${randomUUID()}"`;
      const statuses: number[] = [];
      const send = () =>
        request(app)
          .post('/orders')
          .set('Idempotency-Key', key)
          .send({ item: 'espresso' })
          .then((res) => {
            statuses.push(res.status);
            return res;
          });
      // The first request holds the claim while 99 more arrive, 20 at a time (bounded).
      const first = send();
      for (let sent = 0; sent < 99; sent += 20) {
        await Promise.all(Array.from({ length: Math.min(20, 99 - sent) }, send));
      }
      gate.resolve();
      const winner = await first;
      expect(winner.status).toBe(201);
      expect(calls).toBe(1);
      expect(statuses.filter((s) => s === 409)).toHaveLength(99);
      const replay = await send();
      expect(replay.headers['idempotent-replayed']).toBe('true');
      expect(replay.body).toEqual({ id: 'order-1' });
      expect(calls).toBe(1);
    });
  });
});
