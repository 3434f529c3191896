/**
 * Every error Redis answers reaches the caller as the lock's coded error (issue 23): a full
 * Redis (`OOM`), another client's slow script (`BUSY`), foreign data under the lock's keys
 * (`WRONGTYPE`) and a missing ACL permission (`NOPERM`) all reject with LockUnavailableError
 * (503), whose `cause` is core's classified store error, never a raw ReplyError.
 */

import { readFileSync } from 'node:fs';
import {
  createEvents,
  createKeyspace,
  createRedisClient,
  type RedisClient,
  StoreDataError,
  StoreMisconfiguredError,
  StoreUnavailableError,
} from '@keel/core';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cleanupPrefix,
  closeClient,
  createTestRedis,
  type RedisServer,
  startRedisServer,
  testPrefix,
} from '../../../../test/support/index.js';
import { createLock, LockUnavailableError } from '../../src/index.js';
import { ready } from './support.js';

const servers: RedisServer[] = [];
const clients: RedisClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => closeClient(client as Redis)));
  await Promise.all(servers.splice(0).map((server) => server.stop()));
});

async function privateServer(args: string[] = []): Promise<RedisServer> {
  const server = await startRedisServer({ args });
  servers.push(server);
  return server;
}

async function connect(url: string, redis: { username?: string; password?: string } = {}) {
  const client = createRedisClient({ url, redis, events: createEvents(() => {}) });
  clients.push(client);
  await ready(client);
  return client;
}

/** The rejection of `work`, checked to be a LockUnavailableError with a `cause` of `type`. */
async function unavailable<T>(
  work: Promise<unknown>,
  type: abstract new (...args: never[]) => T,
): Promise<T> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(LockUnavailableError);
  expect((error as LockUnavailableError).code).toBe('KEEL_ERR_LOCK_UNAVAILABLE');
  expect((error as LockUnavailableError).status).toBe(503);
  const cause = (error as LockUnavailableError).cause;
  expect(cause).toBeInstanceOf(type);
  return cause as T;
}

const keysOf = (prefix: string, resource: string) => {
  const ks = createKeyspace(prefix, 'lock');
  return { owner: ks.key(resource, 'owner'), fence: ks.key(resource, 'fence') };
};

describe('a full Redis (OOM under noeviction)', () => {
  it('refuses new locks with LockUnavailableError; held locks still extend and release', async () => {
    const server = await privateServer(['--maxmemory-policy', 'noeviction']);
    const client = await connect(server.url);
    const prefix = testPrefix();
    const locks = createLock({ client, prefix, deadlineMs: 1_000, breaker: false });
    const held = await locks.acquire('held', { ttlMs: 60_000 });

    // Memory well past maxmemory, so Redis refuses every write that could grow it. (Filling up
    // to a limit leaves it hovering at the edge, where a small write may still pass.)
    const filler = createTestRedis({ url: server.url });
    const value = 'x'.repeat(16 * 1024);
    const pipeline = filler.pipeline();
    for (let i = 0; i < 200; i++) pipeline.set(`filler:${i}`, value);
    await pipeline.exec();
    await filler.config('SET', 'maxmemory', '2mb');
    await expect(filler.set('one-more', 'x')).rejects.toThrow(/^OOM/);

    const cause = await unavailable(
      locks.acquire('new', { retry: { attempts: 1 } }),
      StoreUnavailableError,
    );
    expect(cause.message).toMatch(/OOM/);
    expect(await client.exists(keysOf(prefix, 'new').owner)).toBe(0);
    // PEXPIRE and DEL are allowed on a full Redis: a holder can still renew and let go.
    await held.extend(60_000);
    expect(await held.release()).toBe(true);
  });
});

describe("another client's slow script (BUSY)", () => {
  it('acquire rejects with LockUnavailableError while the script runs', async () => {
    const server = await privateServer(['--busy-reply-threshold', '100']);
    const client = await connect(server.url);
    const locks = createLock({ client, prefix: testPrefix(), deadlineMs: 1_000, breaker: false });
    await (await locks.acquire('warm-up')).release(); // the server clock is known

    const other = createTestRedis({ url: server.url });
    const probe = createTestRedis({ url: server.url });
    await probe.ping();
    // Read-only, so SCRIPT KILL can stop it; bounded by the server clock in case it is not.
    const slow = other
      .eval(
        "local s = redis.call('TIME') repeat local t = redis.call('TIME') until t[1] - s[1] > 5",
        0,
      )
      .catch((e: unknown) => e);
    let busy = false;
    for (let i = 0; i < 100 && !busy; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      busy = await probe.ping().then(
        () => false,
        (e: Error) => /^BUSY/.test(e.message),
      );
    }
    expect(busy).toBe(true);
    try {
      const cause = await unavailable(
        locks.acquire('job', { retry: { attempts: 1 } }),
        StoreUnavailableError,
      );
      expect(cause.message).toMatch(/BUSY/);
    } finally {
      await probe.call('SCRIPT', 'KILL').catch(() => {});
      await slow;
    }
    const lock = await locks.acquire('job');
    expect(await lock.release()).toBe(true);
  });
});

describe('foreign data under the lock keys (WRONGTYPE)', () => {
  const direct = createTestRedis();
  let prefix = testPrefix();
  afterEach(async () => {
    await cleanupPrefix(direct, prefix);
    prefix = testPrefix();
  });

  it('an owner key of another type: StoreDataError naming the key family', async () => {
    const locks = createLock({ client: direct, prefix });
    await direct.hset(keysOf(prefix, 'r').owner, 'field', 'value');
    const cause = await unavailable(locks.acquire('r', { retry: { attempts: 1 } }), StoreDataError);
    expect(cause.code).toBe('KEEL_ERR_STORE_DATA');
    expect(cause.keyFamily).toBe(`${prefix}lock:`);
    expect(cause.message).toMatch(/WRONGTYPE/);
  });

  it('a fencing counter of another type, or not an integer: refused, and no lock left taken', async () => {
    const locks = createLock({ client: direct, prefix });
    const keys = keysOf(prefix, 'r');
    for (const write of [
      () => direct.hset(keys.fence, 'field', 'value'),
      () => direct.set(keys.fence, 'not a number'),
      () => direct.set(keys.fence, '1e300'),
    ]) {
      await direct.del(keys.fence);
      await write();
      const cause = await unavailable(
        locks.acquire('r', { retry: { attempts: 1 } }),
        StoreDataError,
      );
      expect(cause.keyFamily).toBe(`${prefix}lock:`);
      expect(await direct.exists(keys.owner)).toBe(0);
    }
  });

  it('a held lock whose key was overwritten: extend and release reject the same way', async () => {
    const locks = createLock({ client: direct, prefix });
    const lock = await locks.acquire('r');
    await direct.del(keysOf(prefix, 'r').owner);
    await direct.hset(keysOf(prefix, 'r').owner, 'field', 'value');
    await unavailable(lock.extend(), StoreDataError);
    await unavailable(lock.release(), StoreDataError);
  });
});

describe('an ACL user (NOPERM)', () => {
  it('without access to the lock keys: StoreMisconfiguredError naming the refusal', async () => {
    const server = await privateServer();
    const admin = await connect(server.url);
    await admin.call('ACL', 'SETUSER', 'app', 'on', '>pw', 'resetkeys', '~app:*', '+@all');
    const client = await connect(server.url, { username: 'app', password: 'pw' });
    const locks = createLock({ client, deadlineMs: 1_000 });
    const cause = await unavailable(
      locks.acquire('r', { retry: { attempts: 1 } }),
      StoreMisconfiguredError,
    );
    expect(cause.code).toBe('KEEL_ERR_STORE_MISCONFIGURED');
    expect(cause.message).toMatch(/NOPERM/);
  });

  it("the README's rule: every operation works, Redlock included, and Redis refuses nothing", async () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const line = readme.split('\n').find((l) => l.startsWith('ACL SETUSER keel-lock '));
    expect(line).toBeDefined();
    const rule = line!.trim().split(/\s+/).slice(3);
    const server = await privateServer();
    const admin = await connect(server.url);
    await admin.call(
      'ACL',
      'SETUSER',
      'keel-lock',
      ...rule.map((w) => w.replace('>password', '>pw')),
    );
    const client = await connect(server.url, { username: 'keel-lock', password: 'pw' });
    const locks = createLock({ client, deadlineMs: 1_000 });
    const lock = await locks.acquire('acl:job', { ttlMs: 5_000 });
    expect(await locks.tryAcquire('acl:job')).toBeUndefined();
    await lock.extend(5_000);
    expect(await lock.release()).toBe(true);
    expect(await locks.withLock('acl:other', () => 'done', { ttlMs: 1_000 })).toBe('done');
    const redlock = createLock({ clients: [client], deadlineMs: 1_000, warnings: false });
    await (await redlock.acquire('acl:quorum')).release();
    await new Promise((resolve) => setTimeout(resolve, 100)); // background probes answered
    expect(await admin.call('ACL', 'LOG')).toEqual([]);
  });
});
