/**
 * Issue 23: a Redis that evicts keys lets a retried request run again, so the Redis store warns
 * once (`keel.warning`, name `evictionPolicy`) when the server's `maxmemory-policy` is not
 * `noeviction`. A file of its own: the warning is once per process, and vitest gives each file
 * a fresh one.
 */
import { createEvents, createRedisClient, type KeelEvent } from '@keel/core';
import { createRedisIdempotencyStore } from '@keel/idempotency';
import { expect, it } from 'vitest';
import { closeClient, startRedisServer } from '../support/index.js';

it('warns once that an evicting Redis lets retried requests run again', async () => {
  const server = await startRedisServer({ args: ['--maxmemory-policy', 'allkeys-lru'] });
  const client = createRedisClient({ url: server.url, events: createEvents(() => {}) });
  const seen: KeelEvent[] = [];
  const events = createEvents((event) => seen.push(event));
  const warn = console.warn;
  console.warn = () => {};
  try {
    createRedisIdempotencyStore({ client, events });
    createRedisIdempotencyStore({ client, events });
    for (let i = 0; i < 100 && seen.length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const warnings = seen.filter((event) => event.name === 'keel.warning');
    expect(warnings).toHaveLength(1);
    const attributes = warnings[0]?.attributes as { warning: string; message: string };
    expect(attributes.warning).toBe('evictionPolicy');
    expect(attributes.message).toMatch(
      /idempotency: Redis evicts keys \(maxmemory-policy allkeys-lru\), so an evicted record lets a retried request run again/,
    );
  } finally {
    console.warn = warn;
    await closeClient(client);
    await server.stop();
  }
});
