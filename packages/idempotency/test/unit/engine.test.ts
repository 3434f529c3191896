/**
 * The engine on the memory store: what `finish` does with each capture result, custom
 * fingerprints and the one-time warnings. The heartbeat is in heartbeat.test.ts; HTTP behaviour
 * is in test/idempotency.
 */
import { randomUUID } from 'node:crypto';
import {
  type CaptureResult,
  createEvents,
  createManualClock,
  type KeelEvent,
  type KeelRequest,
} from '@keel/core';
import { describe, expect, it } from 'vitest';
import {
  createIdempotency,
  createMemoryIdempotencyStore,
  type IdempotencyDecision,
  type IdempotencyOptions,
  IdempotencyScopeError,
} from '../../src/index.js';

function post(key: string, overrides: Partial<KeelRequest> = {}): KeelRequest {
  return {
    method: 'POST',
    path: '/orders',
    route: undefined,
    search: '',
    headers: { 'idempotency-key': `"${key}"` },
    remoteAddress: undefined,
    body: { item: 'tea' },
    rawBody: undefined,
    bodyParsed: true,
    raw: undefined,
    ...overrides,
  };
}

const ok = (status = 201, body = '{"id":1}'): CaptureResult => ({
  kind: 'complete',
  response: {
    status,
    headers: { 'content-type': 'application/json', 'set-cookie': ['sid=1'], 'x-private': 'p' },
    body: Buffer.from(body),
  },
});

function setup(options: Partial<IdempotencyOptions> = {}) {
  const clock = createManualClock();
  const seen: KeelEvent[] = [];
  const engine = createIdempotency({
    scope: () => 'user',
    store: createMemoryIdempotencyStore({ clock }),
    events: createEvents((e) => seen.push(e)),
    renewEveryMs: 0,
    ...options,
  });
  return { engine, clock, seen, names: () => seen.map((e) => e.name) };
}

function claimOf(decision: IdempotencyDecision) {
  if (decision.kind !== 'execute') throw new Error(`expected execute, got ${decision.kind}`);
  return decision.claim;
}

describe('claims', () => {
  it('belong to the engine that made them: foreign or forged claims are ignored', async () => {
    const store = createMemoryIdempotencyStore();
    const a = createIdempotency({ scope: () => 'u', store, renewEveryMs: 0 });
    const b = createIdempotency({ scope: () => 'u', store, renewEveryMs: 0 });
    const key = randomUUID();
    const claim = claimOf(await a.begin(post(key)));
    expect(Object.isFrozen(claim)).toBe(true);
    // Only the record id is visible; the owner token stays inside the engine.
    expect(Object.keys(claim)).toEqual(['record']);
    expect(JSON.stringify(claim)).not.toMatch(/token/);
    await b.finish(claim, ok());
    await a.finish({ record: claim.record }, ok());
    expect(await a.begin(post(key))).toMatchObject({ reason: 'in-flight' });
    await a.finish(claim, ok());
    expect(await b.begin(post(key))).toMatchObject({ reason: 'replayed' });
  });
});

describe('finish', () => {
  it('stores only allow-listed headers, never Set-Cookie', async () => {
    const { engine } = setup();
    const key = randomUUID();
    await engine.finish(claimOf(await engine.begin(post(key))), ok());
    const replay = await engine.begin(post(key));
    expect(replay).toMatchObject({ kind: 'respond', reason: 'replayed' });
    if (replay.kind !== 'respond') return;
    expect(replay.response.headers).toEqual({
      'content-type': 'application/json',
      'idempotent-replayed': 'true',
    });
  });

  it('releases statuses outside storeStatusClasses', async () => {
    const { engine, seen } = setup({ storeStatusClasses: ['2xx'] });
    const key = randomUUID();
    await engine.finish(claimOf(await engine.begin(post(key))), ok(409));
    expect(seen.find((e) => e.name === 'idempotency.released')?.attributes).toEqual({
      record: expect.any(String),
      reason: 'status',
      status: 409,
    });
    expect((await engine.begin(post(key))).kind).toBe('execute');
  });

  it('leaves an aborted claim to lapse with its lease: the handler may still be running', async () => {
    const { engine, clock, names } = setup({ leaseMs: 5000 });
    const key = randomUUID();
    await engine.finish(claimOf(await engine.begin(post(key))), { kind: 'aborted', status: 200 });
    expect(names()).toContain('idempotency.aborted');
    expect(await engine.begin(post(key))).toMatchObject({ reason: 'in-flight' });
    clock.advance(5000);
    expect((await engine.begin(post(key))).kind).toBe('execute');
  });

  it('reports the handler error abandon releases the claim for with the released event', async () => {
    const { engine, seen } = setup();
    const boom = new Error('boom');
    await engine.abandon(claimOf(await engine.begin(post(randomUUID()))), boom);
    const released = seen.find((e) => e.name === 'idempotency.released');
    expect(released?.attributes).toEqual({ record: expect.any(String), reason: 'error' });
    expect(released?.error).toBe(boom);
  });

  it('is settled once: finish after abandon (or twice) does nothing', async () => {
    const { engine, names } = setup();
    const key = randomUUID();
    const claim = claimOf(await engine.begin(post(key)));
    await engine.abandon(claim, new Error('boom'));
    await engine.finish(claim, ok());
    await engine.finish(claim, ok());
    expect(
      names().filter((n) => n.startsWith('idempotency.') && n !== 'idempotency.claimed'),
    ).toEqual(['idempotency.released']);
    expect((await engine.begin(post(key))).kind).toBe('execute');
  });
});

describe('begin', () => {
  it('passes requests without a key (not required) and other methods', async () => {
    const { engine } = setup();
    expect(await engine.begin(post('k', { headers: {} }))).toEqual({ kind: 'pass' });
    expect(await engine.begin(post('k', { method: 'GET' }))).toEqual({ kind: 'pass' });
    expect(await engine.begin(post('k', { method: 'DELETE' }))).toEqual({ kind: 'pass' });
  });

  it('reads the key from a custom header', async () => {
    const { engine } = setup({ headerName: 'X-Request-Key', required: true });
    expect((await engine.begin(post('k', { headers: { 'x-request-key': '"abc"' } }))).kind).toBe(
      'execute',
    );
    expect(await engine.begin(post('k'))).toMatchObject({ reason: 'key-missing' });
  });

  it('throws a coded error when the scope function returns nothing', async () => {
    const { engine } = setup({ scope: () => undefined });
    await expect(engine.begin(post('k'))).rejects.toBeInstanceOf(IdempotencyScopeError);
  });

  it('accepts an async scope', async () => {
    const { engine } = setup({ scope: async (req) => String(req.headers['x-user']) });
    const key = randomUUID();
    const as = (user: string) =>
      post(key, { headers: { 'idempotency-key': `"${key}"`, 'x-user': user } });
    expect((await engine.begin(as('a'))).kind).toBe('execute');
    expect((await engine.begin(as('b'))).kind).toBe('execute');
    expect(await engine.begin(as('a'))).toMatchObject({ reason: 'in-flight' });
  });

  it('uses a custom fingerprint instead of the default', async () => {
    const { engine } = setup({ fingerprint: (req) => String((req.body as { item: string }).item) });
    const key = randomUUID();
    await engine.finish(
      claimOf(await engine.begin(post(key, { body: { item: 'tea', n: 1 } }))),
      ok(),
    );
    expect(await engine.begin(post(key, { body: { item: 'tea', n: 2 } }))).toMatchObject({
      reason: 'replayed',
    });
    expect(await engine.begin(post(key, { body: { item: 'coffee' } }))).toMatchObject({
      reason: 'mismatch',
    });
  });

  it('warns once when a request has a body but no body parser ran', async () => {
    const { engine, seen } = setup();
    const noParser = (key: string) =>
      post(key, {
        bodyParsed: false,
        body: undefined,
        headers: { 'idempotency-key': `"${key}"`, 'content-length': '12' },
      });
    await engine.begin(noParser(randomUUID()));
    await engine.begin(noParser(randomUUID()));
    const warnings = seen.filter((e) => e.name === 'keel.warning');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.attributes).toMatchObject({ warning: 'idempotencyWithoutBody' });
    expect(String((warnings[0]!.attributes as { message: string }).message)).toMatch(
      /before idempotency\(\)/,
    );
  });

  it('gives up waiting after waitMs and answers 409', async () => {
    const { engine, names } = setup({ waitMs: 60 });
    const key = randomUUID();
    claimOf(await engine.begin(post(key)));
    const started = performance.now();
    expect(await engine.begin(post(key))).toMatchObject({ reason: 'in-flight' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(55);
    expect(names()).toContain('idempotency.waiting');
  });
});
