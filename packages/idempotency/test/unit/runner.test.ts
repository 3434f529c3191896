/**
 * The function API's own rules, without a store backend: options refused at construction with
 * messages naming them, keys, and failing closed when the store cannot claim (the function
 * never runs without a claim). The behaviour on every store is in test/conformance.
 */
import { createEvents, type KeelEvent, StoreUnavailableError } from '@keel/core';
import {
  createIdempotentRunner,
  createMemoryIdempotencyStore,
  type IdempotencyStore,
  makeIdempotent,
} from '@keel/idempotency';
import { describe, expect, it } from 'vitest';

describe('createIdempotentRunner / makeIdempotent', () => {
  it('refuses bad options at construction, naming them', () => {
    const bad = [
      [{}, /option "name" must be/],
      [{ name: '{x}' }, /option "name" must be/],
      [{ name: 'ok', codec: { encode: () => '' } }, /option "codec" must be \{ encode/],
      [{ name: 'ok', maxResultBytes: 0 }, /option "maxResultBytes"/],
      [{ name: 'ok', leaseMs: 1000, retentionMs: 10 }, /option "retentionMs"/],
      [{ name: 'ok', store: {} }, /option "store" must be an IdempotencyStore/],
      [{ name: 'ok', leaseMs: 1000, typo: 1 }, /typo/],
    ] as const;
    for (const [options, message] of bad) {
      expect(() => createIdempotentRunner(options as never)).toThrow(message);
    }
    expect(() => makeIdempotent(() => 1, { name: 'ok', key: 'id' as never })).toThrow(
      /option "key" must be a function/,
    );
  });

  it('refuses an empty key before touching the store', async () => {
    const runner = createIdempotentRunner({ name: 'ok' });
    await expect(runner.run('', () => 1)).rejects.toThrow(/option "key" must be a non-empty/);
  });

  it('fails closed: a store that cannot claim rejects with its coded error, and fn never runs', async () => {
    const memory = createMemoryIdempotencyStore();
    const down: IdempotencyStore = {
      ...memory,
      kind: 'redis',
      acquire: () => Promise.reject(new StoreUnavailableError('acquire', 'down')),
    };
    const seen: KeelEvent[] = [];
    const runner = createIdempotentRunner({
      name: 'charge',
      store: down,
      events: createEvents((e) => seen.push(e)),
    });
    let runs = 0;
    const error = await runner.run('job-1', () => ++runs).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(runs).toBe(0);
    expect(seen.map((e) => e.name)).toEqual(['idempotency.rejected']);
  });

  it('a function that throws releases its key, with its error on the released event', async () => {
    const seen: KeelEvent[] = [];
    const runner = createIdempotentRunner({
      name: 'charge',
      renewEveryMs: 0,
      events: createEvents((e) => seen.push(e)),
    });
    const boom = new Error('card declined');
    await expect(runner.run('job-3', () => Promise.reject(boom))).rejects.toBe(boom);
    const released = seen.find((e) => e.name === 'idempotency.released');
    expect(released?.attributes).toMatchObject({ reason: 'error' });
    expect(released?.error).toBe(boom);
    await expect(runner.run('job-3', () => 'paid')).resolves.toBe('paid');
  });

  it('a result the codec cannot encode is returned as an error once, and never runs again', async () => {
    const runner = createIdempotentRunner({ name: 'charge', renewEveryMs: 0 });
    let runs = 0;
    const cyclic = () => {
      runs++;
      const value: Record<string, unknown> = {};
      value.self = value;
      return value;
    };
    await expect(runner.run('job-2', cyclic)).rejects.toThrow(/circular/i);
    await expect(runner.run('job-2', cyclic)).rejects.toMatchObject({
      code: 'KEEL_ERR_IDEMPOTENCY_RESPONSE_NOT_STORED',
    });
    expect(runs).toBe(1);
  });
});
