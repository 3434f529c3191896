import {
  createEvents,
  type KeelEventMap,
  type KeelEventName,
  StoreTimeoutError,
  StoreUnavailableError,
} from '@keel/core';
import { type CounterName, createMeasurer, MEASURED_EVENTS } from '@keel/telemetry';
import { describe, expect, it } from 'vitest';

// Client identifiers a feature puts in its events: none may reach a label.
const SECRET = 'secret-203.0.113.7-alice';

function record() {
  const counts: { metric: CounterName; values: string[]; by: number }[] = [];
  const storeCalls: { values: string[]; seconds: number }[] = [];
  const measurer = createMeasurer({
    count: (metric, values, by) => counts.push({ metric, values: [...values], by }),
    storeCall: (values, seconds) => storeCalls.push({ values: [...values], seconds }),
  });
  const events = createEvents(measurer.listener);
  const emit = <N extends KeelEventName>(
    name: N,
    attributes: KeelEventMap[N],
    extra?: { durationMs?: number; error?: unknown },
  ) => events.emit(name, attributes, extra);
  return { counts, storeCalls, circuits: measurer.circuits, emit };
}

describe('events → measurements', () => {
  it('counts rate-limit decisions by limiter, outcome and source, and each violated policy', () => {
    const { counts, emit } = record();
    emit('rate-limit.allowed', { limiter: 'api', key: SECRET, source: 'store' });
    emit('rate-limit.limited', {
      limiter: 'api',
      key: SECRET,
      policies: ['api-1s', 'api-1h'],
      source: 'deny-cache',
      reason: 'limited',
    } as KeelEventMap['rate-limit.limited']);
    emit('rate-limit.refunded', { limiter: 'login', key: SECRET, cost: 1 });
    emit('rate-limit.store-failure', {
      limiter: 'api',
      operation: 'check',
      failurePolicy: 'fallback',
      store: 'redis',
    });
    expect(counts).toEqual([
      { metric: 'rateLimitDecisions', values: ['api', 'allowed', 'store'], by: 1 },
      { metric: 'rateLimitDecisions', values: ['api', 'limited', 'deny-cache'], by: 1 },
      { metric: 'rateLimitViolations', values: ['api', 'api-1s'], by: 1 },
      { metric: 'rateLimitViolations', values: ['api', 'api-1h'], by: 1 },
      { metric: 'rateLimitRefunds', values: ['login'], by: 1 },
      { metric: 'rateLimitStoreFailures', values: ['api', 'check', 'fallback'], by: 1 },
    ]);
  });

  it('counts cache lookups with the layer of a hit and the reason of the rest', () => {
    const { counts, emit } = record();
    emit('cache.hit', { key: SECRET, layer: 'l1', ageMs: 5 });
    emit('cache.miss', { key: SECRET, collapsed: true });
    emit('cache.miss', { key: SECRET, collapsed: false });
    emit('cache.stale', { key: SECRET, reason: 'stale-if-error', ageMs: 9 });
    emit('cache.bypass', { reason: 'credentials' });
    emit('cache.store', { key: SECRET, stored: false, reason: 'too-large' });
    emit('cache.store', { key: SECRET, stored: true });
    emit('cache.error', { operation: 'read' });
    emit('cache.invalidate', { tags: 2, keys: 0 });
    expect(counts.map((c) => [c.metric, ...c.values])).toEqual([
      ['cacheLookups', 'hit', 'l1', ''],
      ['cacheLookups', 'miss', '', 'collapsed'],
      ['cacheLookups', 'miss', '', ''],
      ['cacheLookups', 'stale', '', 'stale-if-error'],
      ['cacheLookups', 'bypass', '', 'credentials'],
      ['cacheWrites', 'refused', 'too-large'],
      ['cacheWrites', 'stored', ''],
      ['cacheErrors', 'read'],
      ['cacheInvalidations'],
    ]);
  });

  it('counts idempotency requests and what became of each claim', () => {
    const { counts, emit } = record();
    emit('idempotency.claimed', { record: SECRET });
    emit('idempotency.replayed', { record: SECRET, status: 201 });
    emit('idempotency.in-flight', { record: SECRET, retryAfterMs: 1000 });
    emit('idempotency.mismatch', { record: SECRET });
    emit('idempotency.rejected', { reason: 'key-missing' });
    emit('idempotency.completed', { record: SECRET, status: 201, stored: true });
    emit('idempotency.fenced', { record: SECRET, operation: 'complete', reason: 'gone' });
    expect(counts.map((c) => [c.metric, ...c.values])).toEqual([
      ['idempotencyRequests', 'claimed', ''],
      ['idempotencyRequests', 'replayed', ''],
      ['idempotencyRequests', 'in-flight', ''],
      ['idempotencyRequests', 'mismatch', ''],
      ['idempotencyRequests', 'rejected', 'key-missing'],
      ['idempotencyClaimResults', 'completed', 'complete', 'stored'],
      ['idempotencyClaimResults', 'fenced', 'complete', 'gone'],
    ]);
  });

  it('counts session anomalies and lock events without their ids or resources', () => {
    const { counts, emit } = record();
    emit('session.conflict', { idHash: SECRET, attempt: 2 });
    emit('session.corrupt', { idHash: SECRET, reason: 'parse' });
    emit('lock.lost', { resource: SECRET, fencingToken: 7, reason: 'expired' });
    emit('lock.released', { resource: SECRET, fencingToken: 7, held: false });
    expect(counts.map((c) => [c.metric, ...c.values])).toEqual([
      ['sessionOutcomes', 'conflict', ''],
      ['sessionOutcomes', 'corrupt', 'parse'],
      ['lockOutcomes', 'lost', 'expired'],
      ['lockOutcomes', 'released', 'not-held'],
    ]);
  });

  it('records store-call latency in seconds with error.type, and tracks breaker states', () => {
    const { storeCalls, counts, circuits, emit } = record();
    emit(
      'store.call',
      { feature: 'rate-limit', operation: 'check', outcome: 'ok' },
      { durationMs: 0.4 },
    );
    emit(
      'store.call',
      { feature: 'cache', operation: 'read', outcome: 'timeout' },
      { durationMs: 50, error: new StoreTimeoutError('read', 50) },
    );
    emit(
      'store.call',
      { feature: 'cache', operation: 'read', outcome: 'error' },
      { durationMs: 0, error: new StoreUnavailableError('read', `connect ECONNREFUSED ${SECRET}`) },
    );
    expect(storeCalls).toEqual([
      { values: ['rate-limit', 'check', 'ok', ''], seconds: 0.0004 },
      { values: ['cache', 'read', 'timeout', 'KEEL_ERR_STORE_TIMEOUT'], seconds: 0.05 },
      { values: ['cache', 'read', 'error', 'KEEL_ERR_STORE_UNAVAILABLE'], seconds: 0 },
    ]);
    expect([...circuits.entries()]).toEqual([
      ['rate-limit', 'closed'],
      ['cache', 'closed'],
    ]);
    emit('store.circuit', { feature: 'cache', state: 'open' });
    expect(circuits.get('cache')).toBe('open');
    expect(counts.at(-1)).toEqual({
      metric: 'storeCircuitTransitions',
      values: ['cache', 'open'],
      by: 1,
    });
    emit('store.client-error', { message: `connect ECONNREFUSED ${SECRET}` });
    expect(counts.at(-1)).toEqual({ metric: 'storeClientErrors', values: [], by: 1 });
  });

  it('never puts a key, record, id hash, resource or message into a label', () => {
    const { counts, storeCalls, emit } = record();
    emit('idempotency.taken-over', { record: SECRET, expiredMsAgo: 5 });
    emit('session.user-logout', { userHash: SECRET, destroyed: 3 });
    emit('session.write-refused', { idHash: SECRET, reason: 'tombstoned' });
    emit('lock.acquired', { resource: SECRET, fencingToken: 1, attempts: 1 });
    emit('keel.warning', { warning: 'trustProxyAll', message: SECRET });
    const values = [...counts, ...storeCalls].flatMap((c) => c.values);
    expect(values.length).toBeGreaterThan(0);
    for (const value of values) expect(value).not.toContain('secret');
  });

  it('lists the measured events', () => {
    expect(MEASURED_EVENTS).toContain('rate-limit.limited');
    expect(MEASURED_EVENTS).toContain('store.call');
    expect(MEASURED_EVENTS).toContain('lock.lost');
  });
});
