/**
 * A Redis that evicts keys breaks what sessions promise (issue 23, item 3): the store reads
 * `maxmemory-policy` once and warns once per process, naming what eviction costs sessions. Its
 * own file: the warning is once per process, and vitest runs each file in a fresh one.
 */
import { createEvents, createRedisClient, type KeelEvent, type RedisClient } from '@keel/core';
import * as keelExpress from '@keel/express';
import * as keelKoa from '@keel/koa';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { closeClient, type RedisServer, startRedisServer } from '../support/index.js';

let server: RedisServer;
let client: RedisClient;

beforeAll(async () => {
  server = await startRedisServer({ args: ['--maxmemory-policy', 'volatile-lru'] });
  client = createRedisClient(server.url);
  await new Promise((resolve) => client.once('ready', resolve));
});
afterAll(async () => {
  await closeClient(client);
  await server.stop();
});

describe('session store on a Redis that evicts keys', () => {
  it('warns once per process, saying what eviction costs sessions', async () => {
    const seen: KeelEvent[] = [];
    const events = createEvents((event) => seen.push(event));
    const log = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      new keelExpress.SessionStore({ client, events });
      new keelKoa.SessionStore({ client, events });
      const warnings = () => seen.filter((e) => e.name === 'keel.warning');
      for (let i = 0; i < 100 && warnings().length === 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(warnings()).toHaveLength(1);
      const { attributes } = warnings()[0]!;
      expect(attributes).toMatchObject({ warning: 'evictionPolicy' });
      expect(String(attributes.message)).toMatch(/session.*volatile-lru.*logs its user out/);
      expect(String(attributes.message)).toMatch(/tombstone/);
    } finally {
      log.mockRestore();
    }
  });

  it('rejects a warnings option it cannot read, saying what it takes', () => {
    expect(() => new keelExpress.SessionStore({ client, warnings: 'off' as never })).toThrow(
      /warnings.*true, false or \{ <warning name>: false \}/,
    );
  });
});
