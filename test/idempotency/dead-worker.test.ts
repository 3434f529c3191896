/**
 * A worker that dies mid-handler: its key is blocked (409) for one lease, not for the retention;
 * after the lease the retry runs exactly once on another worker, and the dead worker's late
 * completion is fenced (not written, an event emitted). Two apps share one store, as two
 * processes share a Redis; the store's manual clock expires the lease without sleeping.
 */
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { deferred, eventLog, frameworks } from './apps.js';
import { type Backend, backends } from './stores.js';

let backend: Backend | undefined;
afterEach(async () => {
  await backend?.cleanup();
  backend = undefined;
});

const LEASE_MS = 10_000;

describe.each(backends)('a dead worker on %s', (_name, makeBackend) => {
  it.each(frameworks)(
    'blocks its key for one lease; the retry runs once; its late completion is fenced (%s)',
    async (_framework, makeApp) => {
      backend = await makeBackend();
      const { store, clock } = backend;
      const options = { store, leaseMs: LEASE_MS, renewEveryMs: 0 };
      const stuck = deferred();
      const started = deferred();
      const aLog = eventLog();
      // Worker A hangs (a stuck or dying process: no heartbeat either).
      const workerA = makeApp({ ...options, events: aLog.events }, async () => {
        started.resolve();
        await stuck.promise;
        return { status: 201, json: { by: 'A' } };
      });
      let bCalls = 0;
      const bLog = eventLog();
      const workerB = makeApp({ ...options, events: bLog.events }, () => {
        bCalls++;
        return { status: 201, json: { by: 'B' } };
      });
      const key = `"${randomUUID()}"`;
      const send = (app: typeof workerA) =>
        request(app).post('/orders').set('Idempotency-Key', key).send({ amount: 10 });

      const lost = send(workerA).then();
      await started.promise;

      // Within the lease, a retry on the other worker is told to come back later.
      clock.advance(LEASE_MS - 1000);
      const early = await send(workerB);
      expect(early.status).toBe(409);
      expect(early.headers['retry-after']).toBe('1');
      expect(bCalls).toBe(0);

      // After the lease, the retry takes over and runs once.
      clock.advance(1001);
      const retried = await send(workerB);
      expect(retried.status).toBe(201);
      expect(retried.body).toEqual({ by: 'B' });
      expect(bCalls).toBe(1);
      expect(bLog.names()).toContain('idempotency.taken-over');

      // Worker A comes back to life and finishes: its completion must not overwrite B's.
      const fenced = aLog.next('idempotency.fenced');
      stuck.resolve();
      await lost;
      expect((await fenced).attributes).toMatchObject({ operation: 'complete' });
      expect(aLog.names()).not.toContain('idempotency.completed');

      const replay = await send(workerA);
      expect(replay.headers['idempotent-replayed']).toBe('true');
      expect(replay.body).toEqual({ by: 'B' });
      expect(bCalls).toBe(1);
    },
  );
});
