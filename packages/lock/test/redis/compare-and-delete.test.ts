/**
 * Native compare-and-delete (Redis 8.4 / Valkey 9.2 `DELEX … IFEQ`, Valkey 9.0 `DELIFEQ`) is
 * detected once per client; the local redis-server is 7.0, so detection must say "none" and
 * release must take the Lua path.
 */
import { describe, expect, it } from 'vitest';
import {
  cleanupPrefix,
  createTestCluster,
  createTestRedis,
  testPrefix,
} from '../../../../test/support/index.js';
import { createLock, detectCompareAndDelete } from '../../src/index.js';
import { parseCommandInfo } from '../../src/stores/compare-and-delete.js';

describe('native compare-and-delete detection', () => {
  it('finds none on this redis-server (7.x), once per client, and release uses the script', async () => {
    const client = createTestRedis();
    const info = (await client.call('INFO', 'server')) as string;
    const major = Number(/redis_version:(\d+)/.exec(info)?.[1]);
    if (major >= 8) return; // a newer server given through REDIS_URL: nothing to prove here
    const probe = detectCompareAndDelete(client);
    expect(detectCompareAndDelete(client)).toBe(probe);
    expect(await probe).toBeUndefined();
    const prefix = testPrefix();
    try {
      const locks = createLock({ client, prefix });
      const lock = await locks.acquire('r');
      expect(await lock.release()).toBe(true);
      expect(await locks.tryAcquire('r')).toBeDefined();
    } finally {
      await cleanupPrefix(client, prefix);
    }
  });

  it('is never used on a Cluster client (ioredis cannot route unknown commands by key)', async () => {
    expect(await detectCompareAndDelete(await createTestCluster())).toBeUndefined();
  });

  it('reads COMMAND INFO replies', () => {
    const entry = ['delex', -2, ['write', 'fast'], 1, 1, 1];
    expect(parseCommandInfo([null, null])).toBeUndefined();
    expect(parseCommandInfo([entry, null])).toBe('DELEX');
    expect(parseCommandInfo([null, ['delifeq', 3, ['write'], 1, 1, 1]])).toBe('DELIFEQ');
    expect(parseCommandInfo([entry, ['delifeq', 3]])).toBe('DELEX');
    expect(parseCommandInfo('ERR unknown subcommand')).toBeUndefined();
  });
});
