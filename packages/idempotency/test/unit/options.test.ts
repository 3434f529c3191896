import { createEvents, type KeelEvent, KeelOptionError } from '@keel/core';
import { describe, expect, it } from 'vitest';
import { createIdempotency, createMemoryIdempotencyStore } from '../../src/index.js';

const scope = () => 'user';

describe('createIdempotency options', () => {
  it('requires an explicit scope, or scope: false', () => {
    expect(() => createIdempotency({} as never)).toThrow(KeelOptionError);
    expect(() => createIdempotency({} as never)).toThrow(/option "scope" must be a function/);
    expect(() => createIdempotency({ scope: 'user' as never })).toThrow(/got "user"/);
  });

  it('warns once, through events, when running without a scope', () => {
    const seen: KeelEvent[] = [];
    const events = createEvents((e) => seen.push(e));
    createIdempotency({ scope: false, events });
    expect(seen.map((e) => e.attributes)).toEqual([
      expect.objectContaining({ warning: 'unscopedIdempotency' }),
    ]);
    const quiet: KeelEvent[] = [];
    createIdempotency({
      scope: false,
      events: createEvents((e) => quiet.push(e)),
      warnings: { unscopedIdempotency: false },
    });
    expect(quiet).toEqual([]);
  });

  it('rejects typos with a suggestion', () => {
    expect(() => createIdempotency({ scope, leaseMS: 5 } as never)).toThrow(
      /unknown option "leaseMS" \(did you mean "leaseMs"\?\)/,
    );
  });

  it.each([
    [{ leaseMs: 0 }, /leaseMs/],
    [{ leaseMs: 1000, renewEveryMs: 1000 }, /renewEveryMs/],
    [{ leaseMs: 1000, retentionMs: 999 }, /retentionMs/],
    [{ waitMs: -1 }, /waitMs/],
    [{ maxKeyLength: 0 }, /maxKeyLength/],
    [{ storeStatusClasses: ['2xx', '6xx'] }, /storeStatusClasses/],
    [{ methods: 'POST' }, /methods/],
    [{ replayHeaders: [''] }, /replayHeaders/],
    [{ headerName: 'Bad Header' }, /headerName/],
    [{ store: {} }, /store/],
    [{ maxResponseBytes: 0 }, /maxResponseBytes/],
    [{ maxBodyDepth: 0 }, /maxBodyDepth.*levels of nested arrays and objects/],
    [{ maxBodyDepth: 1.5 }, /maxBodyDepth/],
  ])('rejects %o', (options, message) => {
    expect(() => createIdempotency({ scope, ...(options as object) })).toThrow(message);
  });

  it('accepts a full, valid configuration', () => {
    const engine = createIdempotency({
      scope,
      store: createMemoryIdempotencyStore(),
      methods: ['post', 'put'],
      required: true,
      headerName: 'X-Idempotency-Key',
      maxKeyLength: 64,
      acceptUnquotedKeys: true,
      leaseMs: 5000,
      renewEveryMs: 0,
      retentionMs: 60_000,
      waitMs: 100,
      replayHeaders: ['X-Order-Id'],
      storeStatusClasses: ['2xx'],
      maxResponseBytes: 10_000,
      fingerprint: () => 'same',
      fingerprintHeaders: ['x-tenant'],
      maxBodyDepth: 20,
    });
    expect(engine.maxResponseBytes).toBe(10_000);
  });
});

describe('createMemoryIdempotencyStore options', () => {
  it('validates its bounds', () => {
    expect(() => createMemoryIdempotencyStore({ maxBytes: 10 })).toThrow(/maxBytes/);
    expect(() => createMemoryIdempotencyStore({ maxEntries: 0 })).toThrow(/maxEntries/);
    expect(() => createMemoryIdempotencyStore({ max: 1 } as never)).toThrow(/unknown option/);
  });
});
