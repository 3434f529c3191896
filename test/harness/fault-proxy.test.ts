import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  createTestRedis,
  type FaultProxy,
  type RedisServer,
  startFaultProxy,
  startRedisServer,
  type TestRedisOptions,
  testPrefix,
} from '../support/index.js';

// A private server: these tests read it directly and must not depend on REDIS_URL.
let server: RedisServer;
let proxy: FaultProxy;
let direct: Redis;

beforeAll(async () => {
  server = await startRedisServer();
  direct = createTestRedis({ url: server.url });
});
afterAll(async () => {
  await server.stop();
});
beforeEach(async () => {
  proxy = await startFaultProxy(server);
});
afterEach(async () => {
  await proxy.close();
});

/** A client through the proxy; `retryStrategy` keeps reconnects fast after faults. */
function viaProxy(opts: TestRedisOptions = {}): Redis {
  const client = createTestRedis({ url: proxy.url, retryStrategy: () => 20, ...opts });
  client.on('error', () => {}); // expected while faults are injected
  return client;
}

async function elapsedMs(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

describe('startFaultProxy', () => {
  it('passes traffic through', async () => {
    const client = viaProxy();
    const key = `${testPrefix()}k`;
    await client.set(key, 'v');
    expect(await client.get(key)).toBe('v');
    expect(await direct.get(key)).toBe('v');
    expect(proxy.url).toBe(`redis://127.0.0.1:${proxy.port}`);
    expect(proxy.connections).toBe(1);
  });

  it('adds latency in both directions and keeps the byte order', async () => {
    const client = viaProxy();
    await client.ping();

    proxy.setLatency(100);
    // One chunk each way, each held 100 ms: at least 200 ms (generous upper bound for CI).
    const slow = await elapsedMs(() => client.ping());
    expect(slow).toBeGreaterThanOrEqual(200);
    expect(slow).toBeLessThan(2_000);

    // A chunk sent after the latency is lowered must still wait behind an earlier one.
    const key = `${testPrefix()}k`;
    proxy.setLatency(100);
    const order: string[] = [];
    const write = client.set(key, 'first').then(() => order.push('set'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    proxy.setLatency(0);
    const read = client.get(key).then((value) => order.push(`get:${value}`));
    await Promise.all([write, read]);
    expect(order).toEqual(['set', 'get:first']);

    proxy.heal();
    expect(await elapsedMs(() => client.ping())).toBeLessThan(150);
  });

  it('blackhole() keeps connections open but answers nothing; heal() delivers again', async () => {
    const client = viaProxy({ commandTimeout: 200 });
    expect(await client.ping()).toBe('PONG');

    proxy.blackhole();
    await expect(client.ping()).rejects.toThrow(/Command timed out/);
    expect(proxy.connections).toBe(1);
    expect(client.status).toBe('ready');

    // A new connection is accepted too, but its ready check is never answered.
    const late = viaProxy();
    await vi.waitFor(() => expect(proxy.connections).toBe(2));
    expect(late.status).toBe('connect');

    proxy.heal();
    expect(await client.ping()).toBe('PONG');
    expect(await late.ping()).toBe('PONG');
    expect(proxy.connections).toBe(2);
  });

  it('resetAll() breaks every connection; the client reconnects', async () => {
    const client = viaProxy();
    await client.ping();

    const errors: string[] = [];
    client.on('error', (error: NodeJS.ErrnoException) => errors.push(error.code ?? error.message));
    const closed = new Promise((resolve) => client.once('close', resolve));
    proxy.resetAll();
    await closed;
    expect(errors).toContain('ECONNRESET');
    expect(await client.ping()).toBe('PONG'); // through a new connection
  });

  it('refuse() fails new connections only; heal() accepts them again', async () => {
    const existing = viaProxy();
    await existing.ping();

    proxy.refuse();
    const fresh = viaProxy({ lazyConnect: true, retryStrategy: () => null });
    await expect(fresh.connect()).rejects.toThrow();
    expect(await existing.ping()).toBe('PONG');

    proxy.heal();
    const later = viaProxy();
    expect(await later.ping()).toBe('PONG');
  });

  it('dropReplies(1) loses the reply of a command that did run', async () => {
    const client = viaProxy({ commandTimeout: 300 });
    await client.ping();
    const key = `${testPrefix()}k`;

    proxy.dropReplies(1);
    await expect(client.set(key, 'written')).rejects.toThrow(/Command timed out/);
    expect(await direct.get(key)).toBe('written');

    // A lost reply leaves the connection out of step; end it as a real network would.
    proxy.resetAll();
    proxy.heal();
    expect(await client.get(key)).toBe('written');
  });

  it('close() ends every connection', async () => {
    const client = viaProxy({ retryStrategy: () => null });
    await client.ping();
    const ended = new Promise((resolve) => client.once('end', resolve));
    await proxy.close();
    await ended;
    expect(proxy.connections).toBe(0);
    proxy = await startFaultProxy(server); // for afterEach
  });
});
