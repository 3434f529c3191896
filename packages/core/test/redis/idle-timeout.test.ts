/**
 * A server idle `timeout` (common on managed Redis) closes quiet connections. The next call
 * finds the client reconnecting: it waits within its deadline instead of failing, and with
 * `pingIntervalMs` the connection never goes idle at all.
 */
import { createRedisClient, createStoreCaller, type RedisClient } from '@keel/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeClient, type RedisServer, startRedisServer } from '../../../../test/support/index.js';

let server: RedisServer;
beforeAll(async () => {
  server = await startRedisServer({ args: ['--timeout', '1'] });
});
afterAll(async () => {
  await server.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function readyClient(options: { pingIntervalMs?: number } = {}): Promise<RedisClient> {
  const client = createRedisClient({ url: server.url, ...options });
  await new Promise((resolve) => client.once('ready', resolve));
  return client;
}

describe('a server idle timeout', () => {
  it('costs no failed call: calls after a quiet period wait for the reconnect', async () => {
    const client = await readyClient();
    let reconnects = 0;
    client.on('reconnecting', () => reconnects++);
    try {
      const call = createStoreCaller({ feature: 'test', deadlineMs: 200, client, breaker: false });
      for (let round = 0; round < 2; round++) {
        await sleep(2300);
        const results = await Promise.all(
          Array.from({ length: 10 }, () => call('ping', () => client.ping())),
        );
        expect(results).toEqual(Array(10).fill('PONG'));
      }
      expect(reconnects).toBeGreaterThanOrEqual(1);
    } finally {
      await closeClient(client);
    }
  }, 15_000);

  it('never closes a connection that pings more often than the timeout', async () => {
    const client = await readyClient({ pingIntervalMs: 400 });
    let reconnects = 0;
    client.on('reconnecting', () => reconnects++);
    try {
      await sleep(2500);
      expect(await client.ping()).toBe('PONG');
      expect(reconnects).toBe(0);
    } finally {
      await closeClient(client);
    }
  }, 10_000);
});
