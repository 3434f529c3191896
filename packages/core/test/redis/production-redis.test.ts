/**
 * Store calls against the Redis production runs: memory full under `noeviction`, another
 * client's slow script, an ACL user without rights, foreign data under a Keel key. Every
 * reply is classified once: outages trip the breaker, the rest become coded store failures.
 */
import {
  classifyStoreError,
  createEvents,
  createRedisClient,
  createScriptRunner,
  createStoreCaller,
  isStoreFailure,
  type KeelEvent,
  type RedisClient,
  readEvictionPolicy,
  StoreDataError,
  StoreMisconfiguredError,
  StoreUnavailableError,
  setupRedisStore,
} from '@keel/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeClient, type RedisServer, startRedisServer } from '../../../../test/support/index.js';

const incr = { name: 'test-incr', numberOfKeys: 1, lua: "return redis.call('INCR', KEYS[1])" };

let server: RedisServer;
let admin: RedisClient;
beforeAll(async () => {
  server = await startRedisServer({ args: ['--busy-reply-threshold', '50'] });
  admin = createRedisClient(server.url);
  await new Promise((resolve) => admin.once('ready', resolve));
});
afterAll(async () => {
  await closeClient(admin);
  await server.stop();
});

function caller(client: RedisClient, seen: KeelEvent[] = []) {
  return createStoreCaller({
    feature: 'test',
    deadlineMs: 2000,
    client,
    keyFamily: 'keel:test:',
    breaker: { failureThreshold: 1, openMs: 60_000 },
    events: createEvents((e) => seen.push(e)),
  });
}

describe('classifying Redis replies', () => {
  it.each([
    [
      "OOM command not allowed when used memory > 'maxmemory'. script: abc, on @user_script:1.",
      'unavailable',
    ],
    [
      'BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.',
      'unavailable',
    ],
    ['LOADING Redis is loading the dataset in memory', 'unavailable'],
    ["READONLY You can't write against a read only replica.", 'unavailable'],
    [
      'MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to no.',
      'unavailable',
    ],
    ['CLUSTERDOWN The cluster is down', 'unavailable'],
    ['TRYAGAIN Multiple keys request during rehashing of slot', 'unavailable'],
    ['Too many Cluster redirections. Last error: Error: Connection is closed.', 'unavailable'],
    // node-redis (issue 20)
    ['The client is offline', 'unavailable'],
    ['The client is closed', 'unavailable'],
    ['Socket closed unexpectedly', 'unavailable'],
    ['Connection timeout', 'unavailable'],
    [
      'ERR Error running script (call to f_1): @user_script:1: -OOM command not allowed',
      'unavailable',
    ],
    ["NOPERM User keel has no permissions to run the 'evalsha' command", 'misconfigured'],
    ['NOPERM No permissions to access a key', 'misconfigured'],
    ["ERR unknown command 'FOO', with args beginning with:", 'misconfigured'],
    [
      "ERR The user executing the script can't run this command or subcommand script: abc, on @user_script:64.",
      'misconfigured',
    ],
    ['WRONGTYPE Operation against a key holding the wrong kind of value', 'data'],
    ['KEELABANDONED the caller gave up before this call started', 'abandoned'],
    ['ERR value is not an integer or out of range', undefined],
  ])('%s → %s', (message, kind) => {
    expect(classifyStoreError(new Error(message))).toBe(kind);
  });
});

describe('store calls on production Redis', () => {
  it('memory full under noeviction is an outage: StoreUnavailableError, breaker opens', async () => {
    const seen: KeelEvent[] = [];
    const call = caller(admin, seen);
    const runner = createScriptRunner(admin, 'keel:test', '0');
    await admin.config('SET', 'maxmemory', '1');
    try {
      const error = await call('incr', (a) => runner.run(incr, ['keel:test:oom'], [], a)).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect((error as Error).message).toMatch(/OOM/);
      expect(seen.some((e) => e.name === 'store.circuit' && e.attributes.state === 'open')).toBe(
        true,
      );
    } finally {
      await admin.config('SET', 'maxmemory', '0');
    }
  });

  it("another client's slow script (BUSY) is an outage", async () => {
    const other = createRedisClient(server.url);
    await new Promise((resolve) => other.once('ready', resolve));
    const probe = createRedisClient(server.url);
    await new Promise((resolve) => probe.once('ready', resolve));
    try {
      // Spins for 1.5 s (measured in µs: a whole-second test would end at the next second).
      const busy = other
        .eval(
          'local t = redis.call("TIME") local s = t[1] * 1e6 + t[2] while true do local n = redis.call("TIME") if n[1] * 1e6 + n[2] - s >= 1500000 then return 1 end end',
          0,
        )
        .catch(() => {});
      // Until Redis answers BUSY (bounded), so a loaded machine cannot start the probe early.
      for (let i = 0; i < 100; i++) {
        const reply = await admin.ping().catch((e: unknown) => e);
        if (reply instanceof Error && /BUSY/.test(reply.message)) break;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const error = await caller(probe)('get', () => probe.get('keel:test:x')).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect((error as Error).message).toMatch(/BUSY/);
      await busy;
    } finally {
      await closeClient(other);
      await closeClient(probe);
    }
  });

  it('foreign data under a Keel key is a data error naming the key family', async () => {
    const seen: KeelEvent[] = [];
    const call = caller(admin, seen);
    const runner = createScriptRunner(admin, 'keel:test', '0');
    await admin.hset('keel:test:foreign', 'a', '1');
    const error = await call('incr', (a) => runner.run(incr, ['keel:test:foreign'], [], a)).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StoreDataError);
    expect(isStoreFailure(error)).toBe(true);
    expect((error as StoreDataError).keyFamily).toBe('keel:test:');
    expect((error as Error).message).toMatch(/keel:test:\*/);
    // Not an outage: the breaker stays closed.
    expect(seen.some((e) => e.name === 'store.circuit')).toBe(false);
  });

  it('an ACL user without the rights gets a misconfiguration error, not an outage', async () => {
    await admin.call('ACL', 'SETUSER', 'narrow', 'on', '>pw', '~other:*', '+@all');
    const narrow = createRedisClient({
      url: server.url,
      redis: { username: 'narrow', password: 'pw' },
    });
    await new Promise((resolve) => narrow.once('ready', resolve));
    try {
      const seen: KeelEvent[] = [];
      const call = caller(narrow, seen);
      const runner = createScriptRunner(narrow, 'keel:test', '0');
      const error = await call('incr', (a) => runner.run(incr, ['keel:test:acl'], [], a)).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(StoreMisconfiguredError);
      expect((error as Error).message).toMatch(/NOPERM/);
      expect((error as Error).message).toMatch(/ACL rule/);
      expect(seen.some((e) => e.name === 'store.circuit')).toBe(false);
    } finally {
      await closeClient(narrow);
      await admin.call('ACL', 'DELUSER', 'narrow');
    }
  });
});

describe('eviction policy', () => {
  const spec = (feature: string, evictionImpact: string | undefined) => ({
    component: 'createThingStore',
    feature,
    short: 'th',
    version: '0',
    defaultDeadlineMs: 100,
    evictionImpact,
  });

  it('warns once per process and feature when Redis may evict, naming the policy', async () => {
    const evicting = await startRedisServer({ args: ['--maxmemory-policy', 'allkeys-lru'] });
    const client = createRedisClient(evicting.url);
    try {
      const seen: KeelEvent[] = [];
      const events = createEvents((e) => seen.push(e));
      const log = console.warn;
      console.warn = () => {};
      try {
        setupRedisStore({ client, events }, spec('thing-a', 'a lost thing comes back'));
        setupRedisStore({ client, events }, spec('thing-a', 'a lost thing comes back'));
        setupRedisStore({ client, events }, spec('thing-cache', undefined));
        expect(await readEvictionPolicy(client)).toBe('allkeys-lru');
        await new Promise((resolve) => setTimeout(resolve, 20));
      } finally {
        console.warn = log;
      }
      const warnings = seen.filter((e) => e.name === 'keel.warning');
      expect(warnings).toHaveLength(1);
      expect(warnings[0]?.attributes).toMatchObject({
        warning: 'evictionPolicy',
        message: expect.stringMatching(
          /thing-a: Redis evicts keys \(maxmemory-policy allkeys-lru\), so a lost thing comes back/,
        ),
      });
    } finally {
      await closeClient(client);
      await evicting.stop();
    }
  });

  it('says nothing under noeviction', async () => {
    const seen: KeelEvent[] = [];
    setupRedisStore(
      { client: admin, events: createEvents((e) => seen.push(e)) },
      spec('thing-b', 'a lost thing comes back'),
    );
    expect(await readEvictionPolicy(admin)).toBe('noeviction');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(seen.filter((e) => e.name === 'keel.warning')).toEqual([]);
  });
});
