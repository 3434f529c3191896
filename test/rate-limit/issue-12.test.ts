/**
 * Issue 12, rate limit on a standalone Redis: a store call Keel gave up on leaves no trace.
 *
 * - A SIGSTOP stall of the harness's own Redis under concurrent load: once it resumes, the
 *   counters hold exactly the requests the Redis store decided, for every failure policy and
 *   algorithm. A 503 under `closed` charged nothing; under `fallback` a request is counted
 *   once, in memory or in Redis, never in both.
 * - A check that Redis ran in time but whose reply came after the deadline is refunded.
 * - Checks whose replies never come back (the connection closed during the stall, so nothing
 *   can be compensated) do nothing when Redis finally runs them.
 * - Over HTTP, during a stall, the client gets what the fallback limiter decided.
 * - A cold start (the client still connecting) admits exactly `limit` in the first window.
 */
import {
  createRedisClient,
  type FailurePolicy,
  type KeelEvent,
  type RedisClient,
} from '@keel/core';
import {
  ALGORITHM_NAMES,
  createRateLimiter,
  createRedisStore,
  QUOTA_EXCEEDED_TYPE,
} from '@keel/rate-limit';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  closeClient,
  type FaultProxy,
  type RedisServer,
  startFaultProxy,
  startRedisServer,
  testPrefix,
} from '../support/index.js';
import { frameworks } from './apps.js';
import {
  drain,
  request as keelRequest,
  loadThroughFault,
  policyOf,
  stalledLimiter,
  unitsHeld,
} from './stall.js';

const FAILURE_POLICIES: FailurePolicy[] = ['open', 'closed', 'fallback'];

let server: RedisServer;
let proxy: FaultProxy | undefined;
const clients: RedisClient[] = [];
beforeAll(async () => {
  server = await startRedisServer();
});
afterEach(async () => {
  server.resume();
  proxy?.heal();
  await Promise.all(clients.splice(0).map((c) => closeClient(c)));
  await proxy?.close();
  proxy = undefined;
});
afterAll(async () => {
  await server.stop();
});

function newClient(url = server.url): RedisClient {
  const client = createRedisClient({ url, maxReconnectDelayMs: 50 });
  clients.push(client);
  return client;
}

async function readyClient(url?: string): Promise<RedisClient> {
  const client = newClient(url);
  if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
  return client;
}

const stall = { inject: () => server.pause(), heal: () => server.resume() };
const outcomes = (seen: KeelEvent[], outcome: string) =>
  seen.filter((e) => e.name === 'store.call' && e.attributes.outcome === outcome).length;

describe.each(FAILURE_POLICIES)(
  'a 300 ms SIGSTOP stall under load, failurePolicy %s',
  (failurePolicy) => {
    it.each(ALGORITHM_NAMES)(
      '%s: Redis holds exactly the requests the Redis store decided',
      async (algorithm) => {
        const client = await readyClient();
        const prefix = testPrefix();
        const { limiter, fallback, seen, policy } = stalledLimiter(
          client,
          prefix,
          algorithm,
          failurePolicy,
        );
        // The probe also warms the client up (server clock, script loaded), as traffic would have.
        const probe = createRedisStore({ client, prefix, deadlineMs: 5000, breaker: false });
        expect(await unitsHeld(probe, policy)).toBe(0);

        const tally = await loadThroughFault(limiter, stall);
        await drain(() => client.ping());

        // The stall bit: calls timed out while the store kept deciding before and after it.
        expect(outcomes(seen, 'timeout')).toBeGreaterThan(0);
        expect(tally.storeAllowed).toBeGreaterThan(0);
        expect(tally.storeLimited + tally.fallbackLimited).toBe(0);
        expect(await unitsHeld(probe, policy)).toBe(tally.storeAllowed);

        if (failurePolicy === 'open') {
          expect(tally.failurePolicyAllowed).toBeGreaterThan(0);
        } else if (failurePolicy === 'closed') {
          // Every 503 left nothing behind: Redis holds the store's decisions and no more.
          expect(tally.failurePolicyRefused).toBeGreaterThan(0);
        } else {
          // Counted once: the fallback's decisions in memory only, the store's in Redis only.
          expect(tally.fallbackAllowed).toBeGreaterThan(0);
          expect(await unitsHeld(fallback, policy)).toBe(tally.fallbackAllowed);
        }
        expect(
          tally.failurePolicyAllowed + tally.failurePolicyRefused + tally.fallbackAllowed,
        ).toBe(seen.filter((e) => e.name === 'rate-limit.store-failure').length);
      },
    );
  },
);

describe('checks answered after their deadline', () => {
  it.each(ALGORITHM_NAMES)(
    '%s: Redis ran them in time, the replies came late, and each charge is given back',
    async (algorithm) => {
      proxy = await startFaultProxy({ host: server.host, port: server.port });
      const client = await readyClient(proxy.url);
      const prefix = testPrefix();
      const { limiter, seen, policy } = stalledLimiter(client, prefix, algorithm, 'closed', 200);
      // Warm up without latency, so the server clock is measured precisely.
      expect((await limiter.check(keelRequest())).allowed).toBe(true);
      // 120 ms each way: a script reaches Redis well within the 200 ms deadline (it runs and
      // charges) and its reply cannot come back before 240 ms (the caller has answered 503).
      proxy.setLatency(120);
      const late: number[] = [];
      for (let i = 0; i < 5; i++) late.push((await limiter.check(keelRequest())).response!.status);
      proxy.heal();
      expect(late).toEqual(Array(5).fill(503));
      await drain(() => client.ping());
      expect(seen.filter((e) => e.name === 'store.compensated').length).toBeGreaterThan(0);
      expect(
        seen.filter((e) => e.name === 'store.compensated' && e.attributes.outcome !== 'ok'),
      ).toEqual([]);
      const probe = createRedisStore({ client, prefix, deadlineMs: 5000, breaker: false });
      expect(await unitsHeld(probe, policy)).toBe(1);
    },
  );
});

describe('checks whose replies never come back', () => {
  it.each(ALGORITHM_NAMES)(
    '%s: scripts Redis runs after its caller gave up and hung up charge nothing',
    async (algorithm) => {
      const client = await readyClient();
      const prefix = testPrefix();
      const { limiter, seen, policy } = stalledLimiter(client, prefix, algorithm, 'closed');
      const probe = createRedisStore({
        client: await readyClient(),
        prefix,
        deadlineMs: 5000,
        breaker: false,
      });
      expect(await unitsHeld(probe, policy)).toBe(0);
      // Warm the limiter's own client: server clock measured, script loaded.
      expect((await limiter.check(keelRequest())).allowed).toBe(true);

      server.pause();
      let decisions: Awaited<ReturnType<typeof limiter.check>>[];
      try {
        decisions = await Promise.all(
          Array.from({ length: 20 }, () => limiter.check(keelRequest())),
        );
        // The application goes away (a deploy, a crash): its replies can never be compensated.
        client.disconnect();
      } finally {
        server.resume();
      }
      expect(decisions.map((d) => d.response?.status)).toEqual(Array(20).fill(503));
      expect(outcomes(seen, 'timeout')).toBe(20);
      // Redis reads the 20 queued scripts before it sees the connection closed.
      await drain(() => probe.check({ clientKey: 'other', cost: 1, policies: [policy] }));
      expect(await unitsHeld(probe, policy)).toBe(1);
    },
  );
});

describe.each(frameworks)('during a stall on %s', (_name, makeApp) => {
  it('the client gets what the fallback limiter decided, and Redis never counts it', async () => {
    const client = await readyClient();
    const prefix = testPrefix();
    const seen: KeelEvent[] = [];
    const options = {
      name: 'http-stall',
      store: createRedisStore({ client, prefix, deadlineMs: 50, breaker: false }),
      limit: 3,
      windowMs: 60_000,
      algorithm: 'fixed-window' as const,
      failurePolicy: 'fallback' as const,
      keyGenerator: () => 'http-client',
      events: (e: KeelEvent) => seen.push(e),
    };
    const limiter = createRateLimiter(options);
    const app = makeApp({ global: limiter });
    const first = await request(app).get('/ok').expect(200);
    expect(first.headers.ratelimit).toBe('"http-stall";r=2;t=60');

    server.pause();
    const answers: request.Response[] = [];
    try {
      for (let i = 0; i < 5; i++) answers.push(await request(app).get('/ok'));
    } finally {
      server.resume();
    }
    // The in-memory limiter starts from its own count: 3 pass with r=2,1,0, then 429.
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 429, 429]);
    expect(answers.slice(0, 3).map((r) => r.headers.ratelimit)).toEqual([
      '"http-stall";r=2;t=60',
      '"http-stall";r=1;t=60',
      '"http-stall";r=0;t=60',
    ]);
    expect(answers[3]!.body).toMatchObject({ type: QUOTA_EXCEEDED_TYPE, status: 429 });
    expect(Number(answers[3]!.headers['retry-after'])).toBe(60);
    const sources = seen
      .filter((e) => e.name === 'rate-limit.allowed' || e.name === 'rate-limit.limited')
      .map((e) => (e.attributes as { source: string }).source);
    expect(sources).toEqual(['store', 'fallback', 'fallback', 'fallback', 'fallback', 'fallback']);

    await drain(() => client.ping());
    const probe = createRedisStore({ client, prefix, deadlineMs: 5000, breaker: false });
    const policy = { ...policyOf('http-stall', 'fixed-window', 3), windowMs: 60_000 };
    expect(await unitsHeld(probe, policy, 'http-client')).toBe(1);
  });
});

describe('cold start: the client is still connecting', () => {
  describe.each(FAILURE_POLICIES)('failurePolicy %s', (failurePolicy) => {
    it.each(ALGORITHM_NAMES)(
      '%s: the first window admits exactly the limit, all decided by Redis',
      async (algorithm) => {
        const client = newClient();
        expect(client.status).toBe('connecting');
        const prefix = testPrefix();
        const name = `cold-${algorithm}`;
        const limiter = createRateLimiter({
          name,
          // A generous deadline: the machine is shared, and the point is the wait, not its length.
          store: createRedisStore({ client, prefix, deadlineMs: 2000, breaker: false }),
          limit: 5,
          windowMs: 10_000_000_000,
          algorithm,
          failurePolicy,
          keyGenerator: () => 'cold-client',
        });
        const decisions = await Promise.all(
          Array.from({ length: 10 }, () => limiter.check(keelRequest())),
        );
        expect(decisions.filter((d) => d.allowed)).toHaveLength(5);
        expect(decisions.map((d) => d.source)).toEqual(Array(10).fill('store'));
        const probe = createRedisStore({ client, prefix, deadlineMs: 5000 });
        expect(await unitsHeld(probe, policyOf(name, algorithm, 5), 'cold-client')).toBe(5);
      },
    );
  });
});
