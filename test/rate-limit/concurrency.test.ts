/**
 * Over real HTTP servers (both frameworks) on Redis: 1,000 concurrent requests against a
 * limit of 100 get exactly 100 answers of 200 and 900 of 429. All 1,000 are issued at once
 * over a pool of 200 keep-alive sockets (so the test measures the limiter, not TCP setup).
 */
import { Agent, createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createManualClock } from '@keel/core';
import { createRedisStore } from '@keel/rate-limit';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupPrefix, createTestRedis, testPrefix } from '../support/index.js';
import { frameworks } from './apps.js';

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

describe.each(frameworks)('concurrent requests on %s', (_name, makeApp) => {
  it('1,000 concurrent requests against a limit of 100: exactly 100 pass', async () => {
    const client = createTestRedis();
    const prefix = testPrefix();
    try {
      const app = makeApp({
        global: {
          name: 'burst',
          // Time stands still: the test is about atomicity, not about a window ending meanwhile.
          store: createRedisStore({
            client,
            prefix,
            deadlineMs: 5000,
            clockForTests: createManualClock(),
          }),
          limit: 100,
          windowMs: 60_000,
        },
      });
      server = createServer(app as Parameters<typeof createServer>[1]);
      await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      const agent = new Agent({ keepAlive: true, maxSockets: 200 });
      const statuses = await Promise.all(
        Array.from(
          { length: 1000 },
          () =>
            new Promise<number>((resolve, reject) => {
              get({ host: '127.0.0.1', port, path: '/ok', agent }, (res) => {
                res.resume();
                res.on('end', () => resolve(res.statusCode ?? 0));
              }).on('error', reject);
            }),
        ),
      );
      agent.destroy();
      expect(statuses.filter((s) => s === 200)).toHaveLength(100);
      expect(statuses.filter((s) => s === 429)).toHaveLength(900);
    } finally {
      await cleanupPrefix(client, prefix);
    }
  });
});
