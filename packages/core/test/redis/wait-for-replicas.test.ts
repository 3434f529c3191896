/**
 * `waitForReplicas` (issue 24): a durable write's script and `WAIT` go out in one pipeline on
 * one connection; the write counts only once the replicas confirmed it. Tried on a master with
 * two replicas (the shared Sentinel topology) and on one without any (the shared standalone).
 */
import {
  createRedisClient,
  createScriptRunner,
  isWatchingFailovers,
  KeelOptionError,
  type RedisClient,
  StoreUnavailableError,
  setupRedisStore,
} from '@keel/core';
import { describe, expect, it } from 'vitest';
import {
  closeClient,
  createTestRedis,
  createTestSentinel,
  sentinelConfig,
  testPrefix,
} from '../../../../test/support/index.js';

const spec = {
  component: 'createThingStore',
  feature: 'thing',
  short: 'th',
  version: '1.0.0',
  defaultDeadlineMs: 1000,
  evictionImpact: undefined,
  durableOperations: ['write'],
};

const incr = { name: 'incr', numberOfKeys: 1, lua: "return redis.call('INCR', KEYS[1])" };

function store(
  client: RedisClient,
  waitForReplicas: number | { replicas: number; timeoutMs?: number },
) {
  const parts = setupRedisStore({ client, prefix: 'keel:', waitForReplicas, breaker: false }, spec);
  const key = `${testPrefix()}n`;
  const run = (operation: string, undo?: (n: unknown) => Promise<unknown>) =>
    parts.call(operation, (attempt) => parts.runner.run(incr, [key], [], attempt), undo);
  return { run, key };
}

describe('waitForReplicas', () => {
  it('acknowledges a write once the replicas confirmed it: each already has it', async () => {
    const client = await createTestSentinel();
    const { run, key } = store(client, 2);
    expect(await run('write')).toBe(1);
    const { sentinels, name } = sentinelConfig();
    const sentinel = createTestRedis({
      url: `redis://${sentinels[0]!.host}:${sentinels[0]!.port}`,
    });
    const replicas = (await sentinel.call('SENTINEL', 'REPLICAS', name)) as string[][];
    expect(replicas).toHaveLength(2);
    for (const fields of replicas) {
      const port = fields[fields.indexOf('port') + 1];
      const replica = createTestRedis({ url: `redis://127.0.0.1:${port}` });
      expect(await replica.get(key)).toBe('1');
    }
    await client.del(key);
  });

  it('refuses a write no replica confirmed: an outage, and the call is undone', async () => {
    const client = createTestRedis(); // a master without replicas
    const { run, key } = store(client, { replicas: 1, timeoutMs: 20 });
    const undone: unknown[] = [];
    const failed = await run('write', async (n) => undone.push(n)).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(StoreUnavailableError);
    expect(String((failed as Error).message)).toMatch(
      /NOREPLICAS the write reached the master but 0 of 1 replica\(s\) confirmed it within 20 ms/,
    );
    await expect.poll(() => undone).toEqual([1]);
    expect(await client.get(key)).toBe('1'); // written, but never acknowledged
    await client.del(key);
  });

  it('leaves operations that are not acknowledged writes alone', async () => {
    const client = createTestRedis();
    const { run } = store(client, 1);
    expect(await run('read')).toBe(1);
  });

  it('is validated: a number or { replicas, timeoutMs }, only for features with durable writes', () => {
    const client = createTestRedis({ lazyConnect: true });
    const bad = (value: unknown) => () =>
      setupRedisStore({ client, waitForReplicas: value as never }, spec);
    expect(bad(-1)).toThrow(
      'createThingStore: option "waitForReplicas.replicas" must be an integer between 0 and 16, got -1',
    );
    expect(bad({ replicas: 1, timeoutMs: 5000 })).toThrow(
      'option "waitForReplicas.timeoutMs" must be an integer between 1 and 1000 (ms, at most deadlineMs), got 5000',
    );
    expect(bad({ replica: 1 })).toThrow(/unknown option "replica" \(did you mean "replicas"\?\)/);
    expect(bad('1')).toThrow(KeelOptionError);
    expect(() =>
      setupRedisStore({ client, waitForReplicas: 1 }, { ...spec, durableOperations: [] }),
    ).toThrow(
      'createThingStore: option "waitForReplicas" must be left out: thing has no acknowledged writes to confirm (idempotency, sessions and locks have), got 1',
    );
    expect(setupRedisStore({ client, waitForReplicas: 0 }, spec).waitForReplicas).toBeUndefined();
    expect(setupRedisStore({ client, waitForReplicas: 2 }, spec).waitForReplicas).toEqual({
      replicas: 2,
      timeoutMs: 100,
    });
  });
});

describe('createRedisClient on Sentinel', () => {
  it('validates failoverFenceMs', () => {
    expect(() => createRedisClient({ failoverFenceMs: -1 })).toThrow(
      'createRedisClient: option "failoverFenceMs" must be an integer >= 0 (ms, 0 = off), got -1',
    );
  });

  it('follows failovers: failoverDetector on, the sentinels watched', async () => {
    const probe = await createTestSentinel();
    const { sentinels, name } = probe.options;
    const client = createRedisClient({ redis: { sentinels: sentinels!, name: name! } });
    try {
      expect((client as { options: { failoverDetector?: boolean } }).options.failoverDetector).toBe(
        true,
      );
      expect(isWatchingFailovers(client)).toBe(true);
      const runner = createScriptRunner(client, 'keel:t', '1');
      await new Promise((resolve) => client.once('ready', resolve));
      expect(await runner.run(incr, [`${testPrefix()}n`], [])).toBe(1);
    } finally {
      await closeClient(client as never);
    }
  });
});
