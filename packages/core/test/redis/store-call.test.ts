import {
  createEvents,
  createRedisClient,
  createStoreCaller,
  type KeelEvent,
  StoreMisconfiguredError,
  StoreTimeoutError,
  StoreUnavailableError,
} from '@keel/core';
import { afterEach, describe, expect, it } from 'vitest';
import {
  closeClient,
  type FaultProxy,
  redisUrl,
  startFaultProxy,
} from '../../../../test/support/index.js';

let proxy: FaultProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

async function proxiedClient() {
  const target = new URL(redisUrl());
  proxy = await startFaultProxy({ host: target.hostname, port: Number(target.port) });
  const client = createRedisClient({ url: proxy.url, maxReconnectDelayMs: 100 });
  await new Promise((resolve) => client.once('ready', resolve));
  return client;
}

describe('store calls against a faulty Redis', () => {
  it('answer within the deadline when Redis is blackholed', async () => {
    const client = await proxiedClient();
    try {
      const call = createStoreCaller({ feature: 'test', deadlineMs: 50, client, breaker: false });
      expect(await call('ping', () => client.ping())).toBe('PONG');
      proxy!.blackhole();
      const started = performance.now();
      await expect(call('ping', () => client.ping())).rejects.toBeInstanceOf(StoreTimeoutError);
      expect(performance.now() - started).toBeLessThan(500);
    } finally {
      proxy!.resetAll();
      await closeClient(client);
    }
  });

  it('open the circuit after repeated timeouts, fail fast, then probe and close', async () => {
    const client = await proxiedClient();
    const seen: KeelEvent[] = [];
    try {
      const call = createStoreCaller({
        feature: 'test',
        deadlineMs: 30,
        client,
        breaker: { failureThreshold: 2, openMs: 200 },
        events: createEvents((e) => seen.push(e)),
      });
      proxy!.blackhole();
      for (let i = 0; i < 2; i++) {
        await expect(call('ping', () => client.ping())).rejects.toBeInstanceOf(StoreTimeoutError);
      }
      const started = performance.now();
      await expect(call('ping', () => client.ping())).rejects.toBeInstanceOf(StoreUnavailableError);
      expect(performance.now() - started).toBeLessThan(15);
      // Heal the network but drop the connection, whose buffered replies are out of step.
      proxy!.resetAll();
      proxy!.heal();
      await new Promise((resolve) => client.once('ready', resolve));
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(await call('ping', () => client.ping())).toBe('PONG');
      const states = seen.filter((e) => e.name === 'store.circuit').map((e) => e.attributes);
      expect(states).toEqual([
        { feature: 'test', state: 'open' },
        { feature: 'test', state: 'half-open' },
        { feature: 'test', state: 'closed' },
      ]);
      const outcomes = seen.filter((e) => e.name === 'store.call').map((e) => e.attributes);
      expect(outcomes.some((a) => 'outcome' in a && a.outcome === 'timeout')).toBe(true);
    } finally {
      await closeClient(client);
    }
  });

  it('wait for a reconnecting client up to the deadline, then fail as unavailable', async () => {
    const client = await proxiedClient();
    try {
      const call = createStoreCaller({ feature: 'test', deadlineMs: 100, client, breaker: false });
      proxy!.refuse();
      proxy!.resetAll();
      await new Promise((resolve) => client.once('reconnecting', resolve));
      const started = performance.now();
      const error = await call('ping', () => client.ping()).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect((error as Error).message).toMatch(/still reconnecting after 100 ms/);
      expect(performance.now() - started).toBeGreaterThanOrEqual(90);
      expect(performance.now() - started).toBeLessThan(400);
      // Once the network is back, a call made while reconnecting waits and succeeds.
      proxy!.heal();
      if (client.status === 'ready') await new Promise((r) => client.once('reconnecting', r));
      const slow = createStoreCaller({ feature: 'test', deadlineMs: 3000, client, breaker: false });
      expect(await slow('ping', () => client.ping())).toBe('PONG');
    } finally {
      await closeClient(client);
    }
  });

  it('fail at once on a client that was closed for good', async () => {
    const client = await proxiedClient();
    await closeClient(client);
    const call = createStoreCaller({ feature: 'test', deadlineMs: 1000, client, breaker: false });
    const started = performance.now();
    await expect(call('ping', () => client.ping())).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(performance.now() - started).toBeLessThan(50);
  });

  it('turn a connection error into StoreUnavailableError with the cause', async () => {
    const client = createRedisClient({ url: 'redis://127.0.0.1:1', maxReconnectDelayMs: 50 });
    try {
      const call = createStoreCaller({ feature: 'test', deadlineMs: 500, breaker: false });
      const error = await call('ping', () => client.ping()).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect((error as Error).cause).toBeInstanceOf(Error);
    } finally {
      client.disconnect();
    }
  });

  it('name an unknown command as misconfiguration, without tripping the breaker', async () => {
    const client = createRedisClient(redisUrl());
    try {
      await new Promise((resolve) => client.once('ready', resolve));
      const call = createStoreCaller({
        feature: 'test',
        deadlineMs: 500,
        client,
        breaker: { failureThreshold: 1 },
      });
      const error = await call('bad', () => client.call('NOSUCHCOMMAND')).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StoreMisconfiguredError);
      expect((error as StoreMisconfiguredError).code).toBe('KEEL_ERR_STORE_MISCONFIGURED');
      expect((error as Error).message).toMatch(/unknown command/i);
      expect(await call('ping', () => client.ping())).toBe('PONG');
    } finally {
      await closeClient(client);
    }
  });

  it('let errors that are not about the store pass unchanged', async () => {
    const call = createStoreCaller({ feature: 'test', deadlineMs: 500 });
    const bug = new TypeError('a bug in the caller');
    await expect(call('x', () => Promise.reject(bug))).rejects.toBe(bug);
  });
});

describe('createRedisClient', () => {
  it('fails commands at once while disconnected (no offline queue) and never crashes on errors', async () => {
    const client = createRedisClient({ url: 'redis://127.0.0.1:1', maxReconnectDelayMs: 50 });
    try {
      const started = performance.now();
      await expect(client.get('x')).rejects.toThrow();
      expect(performance.now() - started).toBeLessThan(100);
      // Several connection errors have been emitted by now; the listener absorbed them.
      await new Promise((resolve) => setTimeout(resolve, 150));
    } finally {
      client.disconnect();
    }
  });

  it('reports client errors through events when somebody listens', async () => {
    const seen: KeelEvent[] = [];
    const client = createRedisClient({
      url: 'redis://127.0.0.1:1',
      events: createEvents((e) => seen.push(e)),
      maxReconnectDelayMs: 50,
    });
    try {
      await new Promise((resolve) => client.once('error', resolve));
      expect(seen.some((e) => e.name === 'store.client-error')).toBe(true);
    } finally {
      client.disconnect();
    }
  });
});

describe('a Redis that stays down', () => {
  it('opens the circuit after failed waits for the reconnect, then fails at once', async () => {
    const client = createRedisClient({ url: 'redis://127.0.0.1:1', maxReconnectDelayMs: 50 });
    try {
      const call = createStoreCaller({
        feature: 'test',
        deadlineMs: 40,
        client,
        breaker: { failureThreshold: 2, openMs: 60_000 },
      });
      for (let i = 0; i < 2; i++) {
        await expect(call('ping', () => client.ping())).rejects.toBeInstanceOf(
          StoreUnavailableError,
        );
      }
      const started = performance.now();
      const error = await call('ping', () => client.ping()).catch((e: unknown) => e);
      expect((error as Error).message).toMatch(/circuit open/);
      expect(performance.now() - started).toBeLessThan(20);
    } finally {
      client.disconnect();
    }
  });
});
