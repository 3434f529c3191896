/**
 * Issue 23, rate limit: every error a production Redis answers gets the limiter's failure
 * policy, never a 500. Memory full under `noeviction` (OOM), another client's slow script
 * (BUSY), a foreign hash under a limiter key (WRONGTYPE), an ACL user without rights on Keel's
 * keys (NOPERM): `open` lets the request through, `closed` answers 503 problem+json with the
 * store failure's code, `fallback` decides in memory. Both frameworks, a private
 * `redis-server` started with `--busy-reply-threshold 50`. Also: a value Keel did not write
 * under a limiter key, for every algorithm, is a coded data error, not a Lua crash.
 */
import {
  createEvents,
  createRedisClient,
  type FailurePolicy,
  isKeelError,
  type KeelEvent,
  type RedisClient,
  StoreDataError,
} from '@keel/core';
import {
  ALGORITHM_NAMES,
  type AlgorithmName,
  createRedisStore,
  type RateLimiterOptions,
} from '@keel/rate-limit';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closeClient, type RedisServer, startRedisServer, testPrefix } from '../support/index.js';
import { frameworks } from './apps.js';
import { policyOf } from './stall.js';

let server: RedisServer;
let admin: RedisClient;
const clients: RedisClient[] = [];
const cleanups: (() => Promise<unknown>)[] = [];

async function connect(options: Parameters<typeof createRedisClient>[0] = server.url) {
  const client = createRedisClient(options);
  clients.push(client);
  if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
  return client;
}

beforeAll(async () => {
  server = await startRedisServer({ args: ['--busy-reply-threshold', '50'] });
  admin = await connect();
  clients.length = 0;
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await Promise.all(clients.splice(0).map((c) => closeClient(c)));
});
afterAll(async () => {
  await closeClient(admin);
  await server.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The limiter's keys, found after a first request created them (a private server: KEYS is fine). */
async function limiterKeys(prefix: string): Promise<string[]> {
  const keys = await admin.keys(`${prefix}*`);
  expect(keys.length).toBeGreaterThan(0);
  return keys;
}

interface Fault {
  /** The code `closed` answers with. */
  code: string;
  /** Whether a retry in a second may succeed (`Retry-After: 1`). */
  transient: boolean;
  /** The client the store uses (a restricted ACL user for NOPERM). */
  client(): Promise<RedisClient>;
  /** Break Redis; resolves once a request would meet the fault. */
  inject(prefix: string): Promise<void>;
}

/** Another client's script that spins for `ms`; resolves once Redis answers BUSY to others. */
async function busyFor(ms: number): Promise<void> {
  // Both connect first: a connection's ready check meets BUSY too.
  const [other, probe] = await Promise.all([connect(), connect()]);
  const spin = `local t = redis.call('TIME') local s = t[1] * 1000 + math.floor(t[2] / 1000)
while true do
  local n = redis.call('TIME')
  if n[1] * 1000 + math.floor(n[2] / 1000) - s >= ${ms} then return 1 end
end`;
  const done = other.eval(spin, 0).catch(() => {});
  cleanups.push(() => done);
  for (let i = 0; i < 50; i++) {
    const reply = await probe.ping().catch((e: Error) => e.message);
    if (typeof reply === 'string' && reply.startsWith('BUSY')) return;
    await sleep(10);
  }
  throw new Error('Redis never answered BUSY');
}

const faults: Record<string, Fault> = {
  OOM: {
    code: 'KEEL_ERR_STORE_UNAVAILABLE',
    transient: true,
    client: () => connect(),
    async inject() {
      await admin.config('SET', 'maxmemory', '1');
      cleanups.push(() => admin.config('SET', 'maxmemory', '0'));
    },
  },
  BUSY: {
    code: 'KEEL_ERR_STORE_UNAVAILABLE',
    transient: true,
    client: () => connect(),
    inject: () => busyFor(1000),
  },
  WRONGTYPE: {
    code: 'KEEL_ERR_STORE_DATA',
    transient: false,
    client: () => connect(),
    async inject(prefix) {
      for (const key of await limiterKeys(prefix)) {
        await admin.del(key);
        await admin.hset(key, 'owner', 'another application');
      }
    },
  },
  NOPERM: {
    code: 'KEEL_ERR_STORE_MISCONFIGURED',
    transient: false,
    async client() {
      // Every command, but only keys under `other:`: Keel's prefix is not covered.
      await admin.call('ACL', 'SETUSER', 'narrow', 'reset', 'on', '>pw', '~other:*', '+@all');
      cleanups.push(() => admin.call('ACL', 'DELUSER', 'narrow'));
      return connect({ url: server.url, redis: { username: 'narrow', password: 'pw' } });
    },
    async inject() {},
  },
};

describe.each(frameworks)('production Redis replies on %s', (_name, makeApp) => {
  describe.each(Object.keys(faults))('%s', (faultName) => {
    const fault = faults[faultName]!;
    it.each<FailurePolicy>(['open', 'closed', 'fallback'])(
      'failurePolicy %s decides, never a 500, and store.call carries the error',
      async (failurePolicy) => {
        const client = await fault.client();
        const prefix = testPrefix();
        const storeEvents: KeelEvent[] = [];
        const seen: KeelEvent[] = [];
        const options: RateLimiterOptions = {
          name: 'prod',
          store: createRedisStore({
            client,
            prefix,
            deadlineMs: 500,
            events: createEvents((e) => storeEvents.push(e)),
          }),
          limit: 5,
          windowMs: 60_000,
          algorithm: 'fixed-window',
          failurePolicy,
          keyGenerator: () => 'prod-client',
          events: (e) => seen.push(e),
        };
        const app = makeApp({ global: options });
        // WRONGTYPE needs the limiter's key to exist; NOPERM refuses even this first request.
        if (faultName === 'WRONGTYPE') await request(app).get('/ok').expect(200);
        await fault.inject(prefix);

        const res = await request(app).get('/ok');
        expect(res.status).not.toBe(500);
        if (failurePolicy === 'open') {
          expect(res.status).toBe(200);
          expect(res.headers.ratelimit).toBeUndefined();
        } else if (failurePolicy === 'closed') {
          expect(res.status).toBe(503);
          expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
          expect(res.body).toMatchObject({ status: 503, code: fault.code });
          expect(res.headers['retry-after']).toBe(fault.transient ? '1' : undefined);
        } else {
          // The in-memory limiter decided: it counts from its own zero.
          expect(res.status).toBe(200);
          expect(res.headers.ratelimit).toBe('"prod";r=4;t=60');
        }
        const failure = seen.find((e) => e.name === 'rate-limit.store-failure');
        expect(failure?.attributes).toMatchObject({ failurePolicy, operation: 'check' });
        const call = storeEvents.find(
          (e) => e.name === 'store.call' && e.attributes.outcome === 'error',
        );
        expect(call?.attributes).toMatchObject({ feature: 'rate-limit', operation: 'check' });
        const error = call?.error;
        expect(isKeelError(error) && error.code).toBe(fault.code);
        expect(String((error as Error | undefined)?.message)).toMatch(faultName);
      },
    );
  });
});

/** The ACL rule of the README's "On production Redis", for a given prefix. */
const aclRule = (prefix: string) => [
  `~${prefix}rl:*`,
  ...['+evalsha', '+eval', '+time', '+info', '+quit'],
  ...['+get', '+set', '+del', '+pexpire'],
  ...['+zadd', '+zcard', '+zcount', '+zrange', '+zrangebyscore', '+zremrangebyscore', '+zrem'],
];

describe('an ACL user holding exactly the rule the README documents', () => {
  it('checks, refunds and resets with every algorithm, and nothing is refused', async () => {
    const prefix = testPrefix();
    await admin.call('ACL', 'SETUSER', 'keel-rl', 'reset', 'on', '>pw', ...aclRule(prefix));
    cleanups.push(() => admin.call('ACL', 'DELUSER', 'keel-rl'));
    const client = await connect({
      url: server.url,
      redis: { username: 'keel-rl', password: 'pw' },
    });
    const storeEvents: KeelEvent[] = [];
    const store = createRedisStore({
      client,
      prefix,
      deadlineMs: 2000,
      events: (e) => storeEvents.push(e),
    });
    const policies = ALGORITHM_NAMES.map((a) => ({
      ...policyOf(`acl-${a}`, a, 2),
      windowMs: 60_000,
    }));
    const check = (cost: number) => store.check({ clientKey: 'acl', cost, policies });
    const first = await check(1);
    expect(first.allowed).toBe(true);
    await check(1);
    // Refused (the sliding log then reads its entries' times), and a cost above the limit.
    expect((await check(1)).allowed).toBe(false);
    expect((await check(3)).allowed).toBe(false);
    await store.refund({
      clientKey: 'acl',
      cost: 1,
      policies,
      receipts: first.decisions.map((d) => d.receipt),
    });
    expect((await check(1)).allowed).toBe(true);
    await store.reset({ clientKey: 'acl', policies });
    expect((await check(2)).allowed).toBe(true);
    expect(
      storeEvents.filter((e) => e.name === 'store.call' && e.attributes.outcome !== 'ok'),
    ).toEqual([]);
    await closeClient(client);
  });
});

describe('a value Keel did not write under a limiter key', () => {
  it.each(ALGORITHM_NAMES)(
    '%s: a data error naming the key family and the policy, and the failure policy',
    async (algorithm: AlgorithmName) => {
      const client = await connect();
      const prefix = testPrefix();
      const store = createRedisStore({ client, prefix, deadlineMs: 2000 });
      const policy = { ...policyOf('foreign', algorithm, 5), windowMs: 60_000 };
      const check = () => store.check({ clientKey: 'c', cost: 1, policies: [policy] });
      expect((await check()).allowed).toBe(true);
      // Another application's string (for the sliding log, whose state is a sorted set, this
      // is also a type error).
      for (const key of await limiterKeys(prefix)) await admin.set(key, 'not a counter');
      const error = await check().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StoreDataError);
      expect((error as StoreDataError).keyFamily).toBe(`${prefix}rl:`);
      expect((error as Error).message).toMatch(
        algorithm === 'sliding-log' ? /WRONGTYPE/ : /policy foreign:foreign:\w+ holds a value/,
      );
      // A refund has nothing of Keel's to give back there, and leaves it alone.
      await store.refund({ clientKey: 'c', cost: 1, policies: [policy], receipts: [0] });
      expect(await admin.get((await limiterKeys(prefix))[0]!)).toBe('not a counter');
    },
  );
});
