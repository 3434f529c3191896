/**
 * Scripts with a variable number of keys (`<name>-n.lua`): each call declares its own key
 * count, so every key stays in KEYS and a Cluster routes the call by them.
 */
import { createKeyspace, createScriptRunner, type LuaScript, type RedisClient } from '@keel/core';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cleanupPrefix,
  createTestCluster,
  createTestRedis,
  testPrefix,
} from '../../../../test/support/index.js';

const incrementAll: LuaScript = {
  name: 'increment-all',
  numberOfKeys: 1,
  variadicKeys: true,
  lua: `--[[ KEYS[1..n]: counters; ARGV[1]: ttl ms; returns the counters ]]
local rcall = redis.call
local out = {}
for i = 1, #KEYS do
  out[i] = rcall('INCR', KEYS[i])
  rcall('PEXPIRE', KEYS[i], ARGV[1])
end
return out`,
};

const topologies: [string, () => Promise<RedisClient>][] = [
  ['standalone', async () => createTestRedis()],
  ['cluster', () => createTestCluster()],
];

describe.each(topologies)('variadic-key scripts on %s', (_name, connect) => {
  let cleanup: (() => Promise<unknown>) | undefined;
  afterEach(async () => {
    await cleanup?.();
    cleanup = undefined;
  });

  it('take a different number of keys on each call', async () => {
    const client = await connect();
    const prefix = testPrefix();
    cleanup = () => cleanupPrefix(client, prefix);
    const ks = createKeyspace(prefix, 'test');
    const runner = createScriptRunner(client, 'keel:test', '0.0.0');
    const keys = ['a', 'b', 'c'].map((part) => ks.key('client', part));
    expect(await runner.run(incrementAll, keys.slice(0, 1), [10_000])).toEqual([1]);
    expect(await runner.run(incrementAll, keys, [10_000])).toEqual([2, 1, 1]);
    expect(await runner.run(incrementAll, keys.slice(1), [10_000])).toEqual([2, 2]);
  });

  it('refuse fewer keys than the script reads', async () => {
    const client = await connect();
    const runner = createScriptRunner(client, 'keel:test', '0.0.0');
    expect(() => runner.run(incrementAll, [], [1])).toThrow(/at least 1 keys/);
  });
});
