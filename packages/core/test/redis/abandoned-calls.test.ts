/**
 * A store call Keel gave up on leaves no trace: a script that starts after its caller's
 * deadline does nothing; one that started in time but answered late is compensated; a call
 * made while the client is still connecting waits for it instead of failing.
 */
import {
  createEvents,
  createRedisClient,
  createScriptRunner,
  createStoreCaller,
  type KeelEvent,
  type RedisClient,
  StoreTimeoutError,
  serverClockOf,
} from '@keel/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeClient, type RedisServer, startRedisServer } from '../../../../test/support/index.js';

const incr = { name: 'test-incr', numberOfKeys: 1, lua: "return redis.call('INCR', KEYS[1])" };
/** INCR, then spin for ARGV[1] ms: starts in time, answers late. */
const slowIncr = {
  name: 'test-slow-incr',
  numberOfKeys: 1,
  lua: `local n = redis.call('INCR', KEYS[1])
local t = redis.call('TIME')
local start = t[1] * 1000 + math.floor(t[2] / 1000)
while true do
  local now = redis.call('TIME')
  if now[1] * 1000 + math.floor(now[2] / 1000) - start >= tonumber(ARGV[1]) then return n end
end`,
};

let server: RedisServer;
let client: RedisClient;
beforeAll(async () => {
  server = await startRedisServer();
  client = createRedisClient({ url: server.url, maxReconnectDelayMs: 50 });
  await new Promise((resolve) => client.once('ready', resolve));
});
afterAll(async () => {
  await closeClient(client);
  await server.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Keep the event loop busy for `totalMs`, in slices of `sliceMs` with I/O let through between. */
async function busyEventLoop(totalMs: number, sliceMs: number): Promise<void> {
  const end = performance.now() + totalMs;
  while (performance.now() < end) {
    const sliceEnd = performance.now() + sliceMs;
    while (performance.now() < sliceEnd) {}
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** A fresh client (so a fresh server clock) and a caller on it with a rate limit's deadline. */
async function freshCaller() {
  const fresh = createRedisClient({ url: server.url });
  await new Promise((resolve) => fresh.once('ready', resolve));
  const call = createStoreCaller({
    feature: 'test',
    deadlineMs: 50,
    client: fresh,
    breaker: false,
  });
  const runner = createScriptRunner(fresh, 'keel:test', '0');
  return { fresh, incr: (key: string) => call('incr', (a) => runner.run(incr, [key], [], a)) };
}

describe('abandoned store calls', () => {
  it('a script that starts after its caller gave up changes nothing', async () => {
    const call = createStoreCaller({ feature: 'test', deadlineMs: 50, client, breaker: false });
    const runner = createScriptRunner(client, 'keel:test', '0');
    // Learn the server clock first, as any earlier call would have.
    expect(await call('incr', (a) => runner.run(incr, ['guard:warm'], [], a))).toBe(1);
    server.pause();
    let results: unknown[];
    try {
      results = await Promise.all(
        Array.from({ length: 20 }, () =>
          call('incr', (a) => runner.run(incr, ['guard:n'], [], a)).catch((e: unknown) => e),
        ),
      );
      await sleep(300);
    } finally {
      server.resume();
    }
    expect(results.every((r) => r instanceof StoreTimeoutError)).toBe(true);
    // The 20 scripts reached Redis during the stall and ran after it: all refused.
    await sleep(100);
    expect(await client.get('guard:n')).toBeNull();
    // A call in time counts as usual.
    expect(await call('incr', (a) => runner.run(incr, ['guard:n'], [], a))).toBe(1);
  });

  it('a script that answered after the deadline is compensated by the undo', async () => {
    const seen: KeelEvent[] = [];
    const call = createStoreCaller({
      feature: 'test',
      deadlineMs: 50,
      client,
      breaker: false,
      events: createEvents((e) => seen.push(e)),
    });
    const runner = createScriptRunner(client, 'keel:test', '0');
    await call('incr', (a) => runner.run(incr, ['undo:warm'], [], a));
    const undone: unknown[] = [];
    const error = await call(
      'slow',
      (a) => runner.run(slowIncr, ['undo:n'], [120], a),
      async (late) => {
        undone.push(late);
        await client.decr('undo:n');
      },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreTimeoutError);
    await sleep(250);
    expect(undone).toEqual([1]);
    expect(await client.get('undo:n')).toBe('0');
    expect(seen.find((e) => e.name === 'store.compensated')?.attributes).toEqual({
      feature: 'test',
      operation: 'slow',
      outcome: 'ok',
    });
  });

  it('a server-clock sample taken while the event loop was busy is taken again', async () => {
    const { fresh, incr } = await freshCaller();
    try {
      // The TIME reply waits 150 ms behind a busy event loop: a sample that is 75 ms off,
      // more than the whole 50 ms deadline of the calls below.
      const measuring = serverClockOf(fresh).sync();
      await busyEventLoop(150, 150);
      await measuring;
      for (let i = 1; i <= 20; i++) expect(await incr('clock:busy')).toBe(i);
    } finally {
      await closeClient(fresh);
    }
  });

  it('a wrong server-clock offset is measured again as soon as a call in time is refused', async () => {
    const { fresh, incr } = await freshCaller();
    try {
      // Every sample of the measurement is coarse: the offset is 75 ms off.
      const measuring = serverClockOf(fresh).sync();
      await busyEventLoop(1000, 150);
      await measuring;
      // The first call is refused (it looks late on the mis-mapped clock), and the refusal,
      // answered well inside the deadline, sends the clock to be measured again at once.
      const refusedAt = performance.now();
      let allowed = 0;
      while (performance.now() - refusedAt < 300 && allowed === 0) {
        allowed = Number(await incr('clock:stepped').catch(() => 0));
      }
      expect(allowed).toBe(1);
      for (let i = 2; i <= 20; i++) expect(await incr('clock:stepped')).toBe(i);
    } finally {
      await closeClient(fresh);
    }
  });

  it('a call made while the client connects waits for it', async () => {
    const fresh = createRedisClient({ url: server.url });
    try {
      expect(fresh.status).toBe('connecting');
      const call = createStoreCaller({ feature: 'test', deadlineMs: 1000, client: fresh });
      const runner = createScriptRunner(fresh, 'keel:test', '0');
      expect(await call('incr', (a) => runner.run(incr, ['cold:n'], [], a))).toBe(1);
    } finally {
      await closeClient(fresh);
    }
  });

  it('a lazyConnect client is connected by the first call', async () => {
    const lazy = createRedisClient({ url: server.url, redis: { lazyConnect: true } });
    try {
      expect(lazy.status).toBe('wait');
      const call = createStoreCaller({ feature: 'test', deadlineMs: 1000, client: lazy });
      expect(await call('ping', () => lazy.ping())).toBe('PONG');
    } finally {
      await closeClient(lazy);
    }
  });
});
