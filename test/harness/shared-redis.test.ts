import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  cleanupPrefix,
  clusterNodes,
  createTestCluster,
  createTestRedis,
  createTestSentinel,
  redisUrl,
  sentinelConfig,
  testPrefix,
} from '../support/index.js';

describe('servers provided by global-setup', () => {
  it('provides a standalone Redis', async () => {
    expect(redisUrl()).toBe(inject('redisUrl'));
    expect(redisUrl()).toMatch(/^rediss?:\/\//);
    const client = createTestRedis();
    expect(await client.ping()).toBe('PONG');
  });

  it('provides a 3-master cluster', async () => {
    expect(clusterNodes()).toEqual(inject('clusterNodes'));
    expect(clusterNodes()).toHaveLength(3);
    const cluster = await createTestCluster();
    expect(String(await cluster.call('CLUSTER', 'INFO'))).toContain('cluster_state:ok');
    expect(cluster.nodes('master')).toHaveLength(3);

    const prefix = testPrefix();
    const keys = Array.from({ length: 30 }, (_, i) => `${prefix}${i}`);
    for (const key of keys) await cluster.set(key, key);
    for (const key of keys) expect(await cluster.get(key)).toBe(key);
    expect(await cleanupPrefix(cluster, prefix)).toBe(keys.length);
  });
});

describe('the shared Sentinel topology', () => {
  it('has a master with 2 replicas, watched by 3 sentinels that know each other', async () => {
    const { sentinels, name } = sentinelConfig();
    expect(sentinels).toHaveLength(3);
    const master = await createTestSentinel();
    expect(await master.info('replication')).toMatch(/role:master[\s\S]*connected_slaves:2/);
    for (const { host, port } of sentinels) {
      const sentinel = createTestRedis({ url: `redis://${host}:${port}` });
      expect(await sentinel.call('SENTINEL', 'REPLICAS', name)).toHaveLength(2);
      expect(await sentinel.call('SENTINEL', 'SENTINELS', name)).toHaveLength(2);
    }
  });
});

describe('testPrefix / cleanupPrefix', () => {
  it('gives a unique prefix without hash-tag braces', () => {
    const prefix = testPrefix();
    expect(prefix).toMatch(/^keel-test:[0-9a-f-]{36}:$/);
    expect(prefix).not.toMatch(/[{}]/);
    expect(testPrefix()).not.toBe(prefix);
  });

  it('deletes exactly the keys under the prefix on a standalone server', async () => {
    const client = createTestRedis();
    const mine = testPrefix();
    const other = testPrefix();
    await client.mset(`${mine}a`, '1', `${mine}b`, '2', `${other}a`, '3');
    await client.set(Buffer.concat([Buffer.from(mine), Buffer.from([0xff, 0xfe])]), 'binary');

    expect(await cleanupPrefix(client, mine)).toBe(3);
    expect(await client.exists(`${mine}a`, `${mine}b`)).toBe(0);
    expect(await client.get(`${other}a`)).toBe('3');
    expect(await cleanupPrefix(client, other)).toBe(1);
  });

  it('treats glob characters in the prefix literally', async () => {
    const client = createTestRedis();
    const base = testPrefix();
    await client.mset(`${base}a*b:1`, '1', `${base}aXb:1`, '2');
    expect(await cleanupPrefix(client, `${base}a*b:`)).toBe(1);
    expect(await client.get(`${base}aXb:1`)).toBe('2');
    await cleanupPrefix(client, base);
  });

  it('refuses an empty prefix', async () => {
    await expect(cleanupPrefix(createTestRedis(), '')).rejects.toThrow(/non-empty/);
  });
});

describe('automatic closing', () => {
  let fromTest: Redis | undefined;
  let fromBeforeAll: Redis | undefined;
  const fromSuiteBody = createTestRedis({ lazyConnect: true });

  it('closes a client created inside a test when that test finishes', async () => {
    fromTest = createTestRedis();
    await fromTest.ping();
  });

  it('… so the next test sees it ended', () => {
    expect(fromTest?.status).toBe('end');
  });

  describe('a client created in beforeAll', () => {
    beforeAll(() => {
      fromBeforeAll = createTestRedis();
    });

    it('lives across the tests of its suite', async () => {
      expect(await fromBeforeAll?.ping()).toBe('PONG');
    });

    it('still', async () => {
      expect(await fromBeforeAll?.ping()).toBe('PONG');
    });
  });

  it('… and beyond it, until the file ends (the safety net closes it then)', async () => {
    expect(await fromBeforeAll?.ping()).toBe('PONG');
  });

  it('keeps a client created in a describe body (lazyConnect) until the end of that describe', async () => {
    expect(await fromSuiteBody.ping()).toBe('PONG');
  });

  afterAll(() => {
    // Runs before the afterAll that closes fromSuiteBody (hooks run in reverse order).
    expect(fromSuiteBody.status).toBe('ready');
  });
});
