import { createKeyspace, createScriptRunner, type LuaScript, type RedisClient } from '@keel/core';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cleanupPrefix,
  createTestCluster,
  createTestRedis,
  testPrefix,
} from '../../../../test/support/index.js';

const incrementBoth: LuaScript = {
  name: 'increment-both',
  numberOfKeys: 2,
  lua: `--[[ KEYS[1], KEYS[2]: counters; ARGV[1]: ttl ms; returns {a, b} ]]
local rcall = redis.call
local a = rcall('INCR', KEYS[1])
local b = rcall('INCR', KEYS[2])
rcall('PEXPIRE', KEYS[1], ARGV[1])
rcall('PEXPIRE', KEYS[2], ARGV[1])
return {a, b}`,
};

const echoBytes: LuaScript = {
  name: 'echo-bytes',
  numberOfKeys: 1,
  lua: `--[[ KEYS[1]: unused; ARGV[1]: bytes; returns the bytes ]]
return ARGV[1]`,
};

const topologies: [string, () => Promise<RedisClient>][] = [
  ['standalone', async () => createTestRedis()],
  ['cluster', () => createTestCluster()],
];

describe.each(topologies)('script runner on %s', (_name, connect) => {
  let cleanup: (() => Promise<unknown>) | undefined;
  afterEach(async () => {
    await cleanup?.();
    cleanup = undefined;
  });

  it('runs a multi-key script on keys sharing a hash tag', async () => {
    const client = await connect();
    const prefix = testPrefix();
    cleanup = () => cleanupPrefix(client, prefix);
    const ks = createKeyspace(prefix, 'test');
    const runner = createScriptRunner(client, 'keel:test', '0.0.0');
    const keys = [ks.key('client-1', 'a'), ks.key('client-1', 'b')];
    expect(await runner.run(incrementBoth, keys, [10_000])).toEqual([1, 1]);
    expect(await runner.run(incrementBoth, keys, [10_000])).toEqual([2, 2]);
  });

  it('reloads after SCRIPT FLUSH (NOSCRIPT) without losing the call', async () => {
    const client = await connect();
    const prefix = testPrefix();
    cleanup = () => cleanupPrefix(client, prefix);
    const ks = createKeyspace(prefix, 'test');
    const runner = createScriptRunner(client, 'keel:test', '0.0.0');
    const keys = [ks.key('c', 'a'), ks.key('c', 'b')];
    await runner.run(incrementBoth, keys, [10_000]);
    const masters = 'nodes' in client ? client.nodes('master') : [client];
    await Promise.all(masters.map((node) => node.script('FLUSH')));
    expect(await runner.run(incrementBoth, keys, [10_000])).toEqual([2, 2]);
  });

  it('returns binary data intact through runBuffer', async () => {
    const client = await connect();
    const runner = createScriptRunner(client, 'keel:test', '0.0.0');
    const bytes = Buffer.from([0, 255, 128, 10, 13, 0xc3, 0x28]);
    const reply = await runner.runBuffer(echoBytes, ['keel-test:x'], [bytes]);
    expect(Buffer.compare(reply as Buffer, bytes)).toBe(0);
  });
});

describe('script names', () => {
  it('are namespaced and versioned, so two versions on one client do not collide', async () => {
    const client = createTestRedis();
    const v1 = createScriptRunner(client, 'keel:test', '1.0.0');
    const v2 = createScriptRunner(client, 'keel:test', '2.0.0');
    expect(v1.commandName(echoBytes)).toBe('keel:test:echo-bytes:1.0.0');
    const other: LuaScript = { ...echoBytes, lua: `--[[ v2 ]]\nreturn 'v2:' .. ARGV[1]` };
    expect(await v1.run(echoBytes, ['keel-test:k'], ['x'])).toBe('x');
    expect(await v2.run(other, ['keel-test:k'], ['x'])).toBe('v2:x');
    expect(await v1.run(echoBytes, ['keel-test:k'], ['x'])).toBe('x');
  });
});

// ioredis's `enableAutoPipelining` queues the commands of one tick on a pipeline, which holds the
// script commands defined when it was made. A script first used in the tick after another one
// queued a call must still reach Redis (it threw "is not a function" before).
const autoPipelined: [string, () => Promise<RedisClient>][] = [
  ['standalone', async () => createTestRedis({ enableAutoPipelining: true })],
  ['cluster', () => createTestCluster({ enableAutoPipelining: true })],
];

describe.each(autoPipelined)('script runner on an auto-pipelining %s client', (_name, connect) => {
  it('runs scripts first used within one tick, plain and Buffer replies', async () => {
    const client = await connect();
    const prefix = testPrefix();
    const ks = createKeyspace(prefix, 'test');
    const runner = createScriptRunner(client, `keel:test-ap-${prefix}`, '0.0.0');
    const keys = [ks.key('c', 'a'), ks.key('c', 'b')];
    try {
      const replies = await Promise.all([
        runner.run(incrementBoth, keys, [10_000]),
        runner.runBuffer(echoBytes, [ks.key('c', 'a')], [Buffer.from([0, 255])]),
        runner.run(echoBytes, [ks.key('c', 'a')], ['text']),
      ]);
      expect(replies).toEqual([[1, 1], Buffer.from([0, 255]), 'text']);
    } finally {
      await cleanupPrefix(client, prefix);
    }
  });
});
