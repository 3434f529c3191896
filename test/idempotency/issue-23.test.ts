/**
 * Issue 23: idempotency against the Redis people run. Memory full under `noeviction` (`OOM`),
 * another client's slow script (`BUSY`), foreign or corrupt data under a record key
 * (`WRONGTYPE`, fields Keel cannot read) each answer 503 problem+json with `Retry-After` and
 * the right code — the handler never runs, never a 500. A completion that Redis refuses still
 * sends the handler's response, and the record stays in progress until its lease ends (what the
 * README says). An ACL user holding exactly the rule the README gives runs every transition.
 * One private server, its settings changed per test and restored.
 */
import { createHash, randomUUID } from 'node:crypto';
import {
  codes as coreCodes,
  createEvents,
  createManualClock,
  createRedisClient,
  PROBLEM_CONTENT_TYPE,
  type RedisClient,
} from '@keel/core';
import { createRedisIdempotencyStore } from '@keel/idempotency';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanupPrefix,
  closeClient,
  type RedisServer,
  startRedisServer,
  testPrefix,
} from '../support/index.js';
import { type AppFactory, deferred, eventLog, frameworks, type Handler } from './apps.js';

const quiet = createEvents(() => {});
let server: RedisServer;
let admin: RedisClient;
let client: RedisClient;

function ready(c: RedisClient): Promise<void> {
  if (c.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => c.once('ready', () => resolve()));
}

beforeAll(async () => {
  server = await startRedisServer({ args: ['--busy-reply-threshold', '50'] });
  admin = createRedisClient({ url: server.url, events: quiet });
  client = createRedisClient({ url: server.url, events: quiet });
  await Promise.all([ready(admin), ready(client)]);
});
afterAll(async () => {
  await closeClient(client);
  await closeClient(admin);
  await server.stop();
});

let prefix = '';
afterEach(async () => {
  await admin.config('SET', 'maxmemory', '0');
  await cleanupPrefix(admin as never, prefix);
});

/** The record key the engine uses for `key` under the `x-user` scope `anonymous`. */
function recordKey(key: string): string {
  const record = createHash('sha256')
    .update(JSON.stringify(['anonymous', key]))
    .digest('base64url')
    .slice(0, 22);
  return `${prefix}idem:{${record}}`;
}

function post(app: Parameters<typeof request>[0], key: string, body: object = { item: 'tea' }) {
  return request(app).post('/orders').set('Idempotency-Key', `"${key}"`).send(body);
}

/** A fresh prefix, a store on the private server, and an app whose handler runs are counted. */
function setup(makeApp: AppFactory, extra: Record<string, unknown> = {}, handler?: Handler) {
  prefix = testPrefix();
  const log = eventLog();
  const store = createRedisIdempotencyStore({ client, prefix, breaker: false, ...extra });
  const counter = { runs: 0 };
  const app = makeApp({ store, events: log.events, renewEveryMs: 0 }, async (input) => {
    counter.runs++;
    return handler ? handler(input) : { status: 201, json: { id: counter.runs } };
  });
  return { app, log, counter };
}

/** A 503 problem+json with `Retry-After: 1` and `code`. */
function expectUnavailable(res: request.Response, code: string) {
  expect(res.status).toBe(503);
  expect(res.headers['content-type']).toBe(PROBLEM_CONTENT_TYPE);
  expect(res.headers['retry-after']).toBe('1');
  expect(res.body).toMatchObject({ status: 503, code });
}

describe.each(frameworks)('%s idempotency() on production Redis', (_name, makeApp) => {
  it('memory full (OOM): a new key answers 503 and does not run; a completed key still replays', async () => {
    const { app, counter } = setup(makeApp);
    const kept = randomUUID();
    expect((await post(app, kept)).status).toBe(201);
    await admin.config('SET', 'maxmemory', '1');

    const fresh = randomUUID();
    const res = await post(app, fresh);
    expectUnavailable(res, coreCodes.STORE_UNAVAILABLE);
    expect(res.body.detail).toMatch(/OOM/);
    expect(counter.runs).toBe(1);
    // A replay writes nothing, so a full Redis still serves it.
    const replay = await post(app, kept);
    expect(replay.status).toBe(201);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(await admin.exists(recordKey(fresh))).toBe(0);

    await admin.config('SET', 'maxmemory', '0');
    expect((await post(app, fresh)).status).toBe(201);
    expect(counter.runs).toBe(2);
  });

  it('memory full when the response is stored: the client gets it; the key is held for the lease, then runs again', async () => {
    const clock = createManualClock();
    const { app, log, counter } = setup(makeApp, { clockForTests: clock }, async () => {
      await admin.config('SET', 'maxmemory', '1');
      return { status: 201, json: { id: 'made' } };
    });
    const key = randomUUID();
    const failed = log.next('idempotency.store-error');
    const res = await post(app, key);
    // The order was made: the client is told so, with the handler's own response.
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ id: 'made' });
    const event = await failed;
    expect(event.attributes).toMatchObject({ operation: 'complete' });
    expect(event.error).toMatchObject({ code: coreCodes.STORE_UNAVAILABLE });
    await admin.config('SET', 'maxmemory', '0');

    // The record could not be completed: it stays in progress until the lease (30 s) ends, so
    // a retry meanwhile is 409 with the time left, never a second run…
    expect(await admin.hget(recordKey(key), 'state')).toBe('p');
    const early = await post(app, key);
    expect(early.status).toBe(409);
    expect(early.headers['retry-after']).toBe('30');
    expect(counter.runs).toBe(1);
    // …and a retry after the lease runs the handler again (the README says so).
    clock.advance(30_001);
    expect((await post(app, key)).status).toBe(201);
    expect(counter.runs).toBe(2);
  });

  it("another client's slow script (BUSY): 503, the handler does not run; the key runs once afterwards", async () => {
    const { app, counter } = setup(makeApp);
    expect((await post(app, randomUUID())).status).toBe(201);
    const other = createRedisClient({ url: server.url, events: quiet });
    await ready(other);
    const key = randomUUID();
    try {
      const busy = other
        .eval(
          'local s = redis.call("TIME")[1] while redis.call("TIME")[1] - s < 3 do end return 1',
          0,
        )
        .catch(() => {});
      // Past --busy-reply-threshold (50 ms), every other client gets BUSY at once.
      for (let i = 0; i < 50 && (await admin.ping().catch(() => 'BUSY')) === 'PONG'; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const res = await post(app, key);
      expectUnavailable(res, coreCodes.STORE_UNAVAILABLE);
      expect(res.body.detail).toMatch(/BUSY/);
      expect(counter.runs).toBe(1);
      // The script wrote nothing, so it may be killed.
      await admin.script('KILL');
      await busy;
    } finally {
      await closeClient(other);
    }
    expect((await post(app, key)).status).toBe(201);
    expect(counter.runs).toBe(2);
  });

  it('a foreign value under a record key (WRONGTYPE): 503 naming the key family, the handler does not run', async () => {
    const { app, counter } = setup(makeApp);
    const key = randomUUID();
    await admin.set(recordKey(key), 'not a hash');
    const res = await post(app, key);
    expectUnavailable(res, coreCodes.STORE_DATA);
    expect(res.body.detail).toContain(`${prefix}idem:*`);
    expect(counter.runs).toBe(0);
  });

  it.each([
    ['replayed headers that are not JSON', 'headers', '{not json'],
    ['a replayed status that is not a number', 'status', 'two hundred'],
    ['a replayed status out of range', 'status', '42'],
  ])(
    'a completed record with %s: 503 naming the key family, never a 500',
    async (_what, field, value) => {
      const { app, counter } = setup(makeApp);
      const key = randomUUID();
      expect((await post(app, key)).status).toBe(201);
      await admin.hset(recordKey(key), field, value);
      const res = await post(app, key);
      expectUnavailable(res, coreCodes.STORE_DATA);
      expect(res.body.detail).toContain(`${prefix}idem:*`);
      expect(counter.runs).toBe(1);
    },
  );

  it('an in-progress record whose lease cannot be read: 503, never a Lua error', async () => {
    const gate = deferred();
    const { app, counter } = setup(makeApp, {}, async () => {
      await gate.promise;
      return { status: 201, json: {} };
    });
    const key = randomUUID();
    const first = post(app, key).then();
    for (let i = 0; i < 100 && (await admin.hget(recordKey(key), 'state')) !== 'p'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await admin.hset(recordKey(key), 'lease', 'soon');
    const res = await post(app, key);
    expectUnavailable(res, coreCodes.STORE_DATA);
    expect(res.body.detail).toMatch(/lease cannot be read/);
    gate.resolve();
    expect((await first).status).toBe(201);
    expect(counter.runs).toBe(1);
  });
});

describe.each(frameworks)('%s idempotency() behind a server idle timeout', (_name, makeApp) => {
  it('a request that finds the connection closed for idleness waits for the reconnect and runs once', async () => {
    const idle = await startRedisServer({ args: ['--timeout', '1'] });
    const quick = createRedisClient({ url: idle.url, events: quiet });
    try {
      await ready(quick);
      let runs = 0;
      // The file's afterEach cleans this prefix on the other server: nothing to do there.
      prefix = testPrefix();
      const store = createRedisIdempotencyStore({ client: quick, prefix });
      const app = makeApp({ store }, () => {
        runs++;
        return { status: 201, json: {} };
      });
      expect((await post(app, randomUUID())).status).toBe(201);
      // Redis closes the quiet connection after 1 s; the request goes out as it closes.
      const closed = new Promise<void>((resolve) => quick.once('close', () => resolve()));
      await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 5000))]);
      expect(quick.status).toBe('reconnecting');
      const res = await post(app, randomUUID());
      expect(res.status).toBe(201);
      expect(runs).toBe(2);
    } finally {
      await closeClient(quick);
      await idle.stop();
    }
  });
});

describe('idempotency() under an ACL user', () => {
  // The rule in the package README, for the prefix of this test.
  const rule = (keys: string) => [
    'on',
    '>secret',
    'resetkeys',
    `~${keys}`,
    'resetchannels',
    '-@all',
    ...['+evalsha', '+eval', '+time', '+info', '+hmget', '+hset', '+pexpire', '+del'],
  ];
  const users: RedisClient[] = [];
  afterAll(async () => {
    for (const user of users) await closeClient(user);
  });

  async function asUser(name: string, keys: string): Promise<RedisClient> {
    await admin.call('ACL', 'SETUSER', name, ...rule(keys));
    const user = createRedisClient({
      url: `redis://${name}:secret@127.0.0.1:${server.port}`,
      events: quiet,
    });
    users.push(user);
    await ready(user);
    return user;
  }

  it.each(frameworks)(
    'holding exactly the README rule runs claim, heartbeat, completion, replay, 409, 422 and release (%s)',
    async (_name, makeApp) => {
      prefix = testPrefix();
      const user = await asUser(`idem-${randomUUID()}`, `${prefix}idem:*`);
      const log = eventLog();
      const store = createRedisIdempotencyStore({
        client: user,
        prefix,
        breaker: false,
        events: log.events,
      });
      const gate = deferred();
      const started = deferred();
      let runs = 0;
      const app = makeApp(
        { store, events: log.events, leaseMs: 300, renewEveryMs: 50 },
        async ({ body }) => {
          runs++;
          if ((body as { fail?: boolean }).fail) return { status: 500, json: {} };
          started.resolve();
          await gate.promise;
          return { status: 201, json: { id: runs } };
        },
      );
      const calls = (operation: string) =>
        log.seen.filter((e) => e.name === 'store.call' && e.attributes.operation === operation);

      const key = randomUUID();
      const first = post(app, key).then();
      await started.promise;
      expect((await post(app, key)).status).toBe(409);
      expect((await post(app, key, { item: 'coffee' })).status).toBe(422);
      for (let i = 0; i < 100 && calls('renew').length === 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      gate.resolve();
      expect((await first).status).toBe(201);
      expect((await post(app, key)).headers['idempotent-replayed']).toBe('true');
      const failing = randomUUID();
      expect((await post(app, failing, { fail: true })).status).toBe(500);

      for (const operation of ['acquire', 'renew', 'complete', 'release']) {
        expect(calls(operation).length, operation).toBeGreaterThan(0);
      }
      const refused = log.seen.filter(
        (e) => e.name === 'store.call' && e.attributes.outcome !== 'ok',
      );
      expect(refused).toEqual([]);
      expect(await admin.exists(recordKey(failing))).toBe(0);
      expect(runs).toBe(2);
    },
  );

  it('without the key pattern: 503 naming the refusal, the handler does not run', async () => {
    prefix = testPrefix();
    const user = await asUser(`idem-${randomUUID()}`, 'other-app:*');
    const store = createRedisIdempotencyStore({ client: user, prefix, breaker: false });
    let runs = 0;
    const app = frameworks[0]![1]({ store }, () => {
      runs++;
      return { status: 201, json: {} };
    });
    const res = await post(app, randomUUID());
    expectUnavailable(res, coreCodes.STORE_MISCONFIGURED);
    expect(res.body.detail).toMatch(/NOPERM/);
    expect(runs).toBe(0);
  });
});
