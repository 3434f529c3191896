import { KeelOptionError, setupRedisStore } from '@keel/core';
import { describe, expect, it } from 'vitest';
import { createTestRedis } from '../../../../test/support/index.js';

const spec = {
  component: 'createThingStore',
  feature: 'thing',
  short: 'th',
  version: '1.2.3',
  defaultDeadlineMs: 75,
  evictionImpact: undefined,
};

describe('setupRedisStore', () => {
  it('builds the keyspace, versioned runner and defaults from the spec', () => {
    const client = createTestRedis({ lazyConnect: true });
    const parts = setupRedisStore({ client }, spec);
    expect(parts.keyspace.prefix).toBe('keel:th:');
    expect(parts.runner.commandName({ name: 'do-it', numberOfKeys: 1, lua: '' })).toBe(
      'keel:th:do-it:1.2.3',
    );
    expect(parts.deadlineMs).toBe(75);
    expect(parts.clockForTests).toBeUndefined();
  });

  it('names the component and option in every validation error', () => {
    const client = createTestRedis({ lazyConnect: true });
    expect(() => setupRedisStore({ client: {} as never }, spec)).toThrow(
      'createThingStore: option "client" must be an ioredis or iovalkey Redis or Cluster, or a node-redis (redis ≥ 5) client from createClient or createCluster, got an object',
    );
    expect(() => setupRedisStore({ client, deadlineMs: 0 }, spec)).toThrow(
      'createThingStore: option "deadlineMs" must be an integer >= 1 (ms), got 0',
    );
    expect(() => setupRedisStore({ client, prefix: 'a{b}' }, spec)).toThrow(KeelOptionError);
    expect(() => setupRedisStore({ client, deadlinems: 5 } as never, spec)).toThrow(
      /unknown option "deadlinems" \(did you mean "deadlineMs"\?\)/,
    );
  });

  it('accepts the feature’s own extra options', () => {
    const client = createTestRedis({ lazyConnect: true });
    expect(() =>
      setupRedisStore({ client, ttlMs: 5 } as never, { ...spec, extraOptions: ['ttlMs'] }),
    ).not.toThrow();
  });
});
