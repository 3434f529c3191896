import { readFileSync } from 'node:fs';
import { createEvents, type KeelEvent, KeelOptionError } from '@keel/core';
import { describe, expect, it, vi } from 'vitest';
import { createTestRedis } from '../../../../test/support/index.js';
import { createLock } from '../../src/index.js';
import { VERSION } from '../../src/version.js';

describe('createLock options', () => {
  it('rejects typos with a suggestion (the issue says `ttl`, the option is `ttlMs`)', async () => {
    expect(() => createLock({ ttl: 5 } as never)).toThrow(
      /unknown option "ttl" \(did you mean "ttlMs"\?\)/,
    );
    const locks = createLock();
    await expect(locks.acquire('r', { ttl: 5 } as never)).rejects.toThrow(KeelOptionError);
    await expect(locks.acquire('r', { retry: { attempts: 2, delay: 5 } } as never)).rejects.toThrow(
      /unknown option "delay" \(did you mean "delayMs"\?\)/,
    );
  });

  it('validates values at construction', () => {
    const bad: [object, RegExp][] = [
      [{ ttlMs: 5 }, /"ttlMs" must be an integer between 10 and/],
      [{ deadlineMs: 0 }, /"deadlineMs" must be an integer >= 1/],
      [{ driftFactor: 1 }, /"driftFactor" must be a number >= 0 and < 1/],
      [{ renewRatio: 0 }, /"renewRatio" must be a number > 0 and < 1/],
      [{ retry: { attempts: 0 } }, /"retry.attempts" must be an integer between 1 and 1000/],
      [{ prefix: 'a{b}' }, /no braces/],
      [
        { clients: [] },
        /"clients" must be a non-empty array of clients \(one per Redis master\), each an ioredis/,
      ],
      [{ client: {} }, /"client" must be an ioredis or iovalkey Redis or Cluster, or a node-redis/],
      [{ memory: {} }, /"memory" must be true or a store from createMemoryLockStore/],
      [{ memory: true, client: {} }, /"memory" must be left out when "client" is given/],
    ];
    for (const [options, message] of bad) {
      expect(() => createLock(options as never), JSON.stringify(options)).toThrow(message);
    }
  });

  it('validates per-call arguments', async () => {
    const locks = createLock();
    await expect(locks.acquire('')).rejects.toThrow(/"resource" must be a non-empty string/);
    await expect(locks.withLock('r', 'nope' as never)).rejects.toThrow(/"fn" must be a function/);
    await expect(locks.withLock('r', () => 1, { renewRatio: 2 })).rejects.toThrow(/renewRatio/);
    const lock = await locks.acquire('r');
    await expect(lock.extend(0)).rejects.toThrow(KeelOptionError);
    await lock.release();
  });

  it('warns once about a Redlock group that cannot tolerate a failure or repeats a node', () => {
    const seen: KeelEvent[] = [];
    const log = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const a = createTestRedis({ lazyConnect: true });
    const b = createTestRedis({ lazyConnect: true });
    const events = createEvents((e) => seen.push(e));
    createLock({ clients: [a, b], events });
    log.mockRestore();
    const warned = seen.filter((e) => e.name === 'keel.warning').map((e) => e.attributes);
    expect(warned.map((w) => 'warning' in w && w.warning)).toEqual([
      'redlockNodeCount',
      'redlockSameNode',
    ]);
  });

  it('names its scripts with the package version', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    expect(VERSION).toBe(pkg.version);
  });
});
