/**
 * What an idempotency record looks like in Redis: one hash per record under one hash-tagged
 * key, the client's key and scope hashed, binary bodies intact, TTL = retention.
 */
import { randomUUID } from 'node:crypto';
import type { KeelRequest } from '@keel/core';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupPrefix, createTestRedis, testPrefix } from '../../../../test/support/index.js';
import { createIdempotency, createRedisIdempotencyStore } from '../../src/index.js';

const client = createTestRedis();
let prefix = '';
afterEach(async () => {
  await cleanupPrefix(client, prefix);
});

function post(key: string): KeelRequest {
  return {
    method: 'POST',
    path: '/orders',
    route: undefined,
    search: '',
    headers: { 'idempotency-key': JSON.stringify(key) },
    remoteAddress: undefined,
    body: { item: 'tea' },
    rawBody: undefined,
    bodyParsed: true,
    raw: undefined,
  };
}

describe('Redis record layout', () => {
  it('keeps one hash per record under a hash tag, with neither key nor scope in clear', async () => {
    prefix = testPrefix();
    const engine = createIdempotency({
      scope: () => 'tenant-secret-42',
      store: createRedisIdempotencyStore({ client, prefix }),
      leaseMs: 5000,
      retentionMs: 60_000,
      renewEveryMs: 0,
    });
    const key = `{slot-pick}-${randomUUID()}`;
    const decision = await engine.begin(post(key));
    if (decision.kind !== 'execute') throw new Error(decision.kind);

    const keys = await client.keys(`${prefix}*`);
    expect(keys).toHaveLength(1);
    const [redisKey] = keys as [string];
    expect(redisKey).toMatch(new RegExp(`^${prefix}idem:\\{[A-Za-z0-9_-]{22}\\}$`));
    expect(redisKey).not.toContain('slot-pick');
    expect(redisKey).not.toContain('tenant-secret');
    expect(await client.type(redisKey)).toBe('hash');
    expect(await client.hget(redisKey, 'state')).toBe('p');
    const claimTtl = await client.pttl(redisKey);
    expect(claimTtl).toBeGreaterThan(55_000);

    const body = Buffer.from([0, 255, 0xc3, 0x28, 10]);
    await engine.finish(decision.claim, {
      kind: 'complete',
      response: { status: 201, headers: { 'content-type': 'image/png' }, body },
    });
    expect(await client.hget(redisKey, 'state')).toBe('c');
    expect(Buffer.compare((await client.hgetBuffer(redisKey, 'body'))!, body)).toBe(0);
    expect(await client.pttl(redisKey)).toBeGreaterThan(55_000);
    expect(await client.keys(`${prefix}*`)).toHaveLength(1);
  });

  it('deletes the record when a claim is released', async () => {
    prefix = testPrefix();
    const engine = createIdempotency({
      scope: () => 'u',
      store: createRedisIdempotencyStore({ client, prefix }),
      renewEveryMs: 0,
    });
    const decision = await engine.begin(post(randomUUID()));
    if (decision.kind !== 'execute') throw new Error(decision.kind);
    await engine.abandon(decision.claim, new Error('boom'));
    expect(await client.keys(`${prefix}*`)).toEqual([]);
  });
});
