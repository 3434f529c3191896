/**
 * The client seam (issue 20): each client is recognised by its shape, and the node-redis
 * driver keeps the promises the ioredis one gets from `defineCommand` — EVALSHA with the
 * NOSCRIPT fallback, binary replies as Buffers, `WAIT` behind a script, SCAN and plain commands.
 */
import { createScriptRunner, isSupportedClient, keelClient, type LuaScript } from '@keel/core';
import { Redis as Ioredis6 } from 'ioredis-6';
import { Redis as Iovalkey } from 'iovalkey';
import { describe, expect, it } from 'vitest';
import {
  cleanupPrefix,
  createTestCluster,
  createTestRedis,
  redisUrl,
  testPrefix,
} from '../../../../test/support/index.js';
import { createTestNodeRedis } from '../../../../test/support/node-redis.js';

const echo: LuaScript = {
  name: 'echo',
  numberOfKeys: 1,
  lua: "redis.call('SET', KEYS[1], ARGV[1]) return {KEYS[1], ARGV[1]}",
};

describe('keelClient', () => {
  it('recognises ioredis 5 and 6, iovalkey, node-redis and a Cluster, and refuses the rest', async () => {
    const drivers = [
      keelClient(createTestRedis({ lazyConnect: true })),
      keelClient(new Ioredis6(redisUrl(), { lazyConnect: true })),
      keelClient(new Iovalkey(redisUrl(), { lazyConnect: true })),
      keelClient(await createTestNodeRedis()),
    ].map((c) => c.driver);
    expect(drivers).toEqual(['ioredis', 'ioredis', 'ioredis', 'node-redis']);
    expect(keelClient(await createTestCluster()).isCluster).toBe(true);
    for (const other of [{}, { sendCommand() {} }, null, 'redis://x']) {
      expect(isSupportedClient(other)).toBe(false);
    }
    expect(() => keelClient({})).toThrow(/node-redis/);
  });
});

describe('the node-redis driver', () => {
  it('runs scripts by SHA, reloads them after SCRIPT FLUSH, and returns Buffers when asked', async () => {
    const client = await createTestNodeRedis();
    const raw = createTestRedis();
    const prefix = testPrefix();
    try {
      const runner = createScriptRunner(client, 'keel:test', '0.0.0');
      expect(await runner.run(echo, [`${prefix}a`], ['one'])).toEqual([`${prefix}a`, 'one']);
      await raw.script('FLUSH');
      expect(await runner.run(echo, [`${prefix}a`], ['two'])).toEqual([`${prefix}a`, 'two']);
      const binary = (await runner.runBuffer(
        echo,
        [`${prefix}b`],
        [Buffer.from([0xff, 0])],
      )) as Buffer[];
      expect(Buffer.isBuffer(binary[1])).toBe(true);
      expect([...binary[1]!]).toEqual([0xff, 0]);
      expect(await raw.get(`${prefix}a`)).toBe('two');
    } finally {
      await cleanupPrefix(raw, prefix);
    }
  });

  it('sends WAIT behind a script and reports the replicas that confirmed it', async () => {
    const seam = keelClient(await createTestNodeRedis());
    const raw = createTestRedis();
    const prefix = testPrefix();
    try {
      const definition = { name: 'keel:test:echo:w', lua: echo.lua, numberOfKeys: 1 };
      const result = await seam.scriptThenWait(definition, false, [`${prefix}w`, 'x'], 1, 5);
      expect(result).toEqual({ reply: [`${prefix}w`, 'x'], acknowledged: 0 }); // no replicas
    } finally {
      await cleanupPrefix(raw, prefix);
    }
  });

  it('scans, sends plain commands, reads TIME and INFO', async () => {
    const seam = keelClient(await createTestNodeRedis());
    const raw = createTestRedis();
    const prefix = testPrefix();
    try {
      for (let i = 0; i < 5; i++) await seam.call('SET', `${prefix}${i}`, i);
      const found: string[] = [];
      for await (const page of seam.scan(`${prefix}*`, 2)) found.push(...page);
      expect(found.sort()).toEqual([0, 1, 2, 3, 4].map((i) => `${prefix}${i}`));
      expect(await seam.call('GET', `${prefix}3`)).toBe('3');
      const [seconds] = await seam.time();
      expect(Math.abs(Number(seconds) - Date.now() / 1000)).toBeLessThan(60);
      expect(await seam.info('memory')).toMatch(/maxmemory_policy:/);
      expect(seam.status).toBe('ready');
    } finally {
      await cleanupPrefix(raw, prefix);
    }
  });
});
