/**
 * Which event becomes which measurement. One table keyed by event name, shared by every
 * adapter: an adapter supplies a {@link MeasurementSink} (its counters and histogram) and gets
 * back the listener to subscribe to Keel's events.
 *
 * Events a feature emits but this table leaves out are not measured (`lock.acquired` is, the
 * free-text `store.client-error` message is not); attributes that identify a client or a
 * record (`key`, `record`, `idHash`, `userHash`, `resource`) are never read.
 */

// Type-only: brings each feature's events into KeelEventMap (erased at run time).
import type {} from '@keel/cache';
import type { KeelEvent, KeelEventListener, KeelEventName, KeelEventOf } from '@keel/core';
import type {} from '@keel/idempotency';
import type {} from '@keel/lock';
import type {} from '@keel/rate-limit';
import type {} from '@keel/session';
import type { CounterName } from './catalogue.js';
import { CircuitStates } from './circuits.js';
import { errorTypeOf } from './error-type.js';

/** What an adapter records into. Label values come in the metric's catalogue label order. */
export interface MeasurementSink {
  /** Add `by` to the counter `metric` at these label values. */
  count(metric: CounterName, values: readonly string[], by: number): void;
  /** One store call (`feature`, `operation`, `outcome`, `errorType`) took `seconds`. */
  storeCall(values: readonly string[], seconds: number): void;
}

type Handler<N extends KeelEventName> = (
  event: KeelEventOf<N>,
  sink: MeasurementSink,
  circuits: CircuitStates,
) => void;

type HandlerTable = { [N in KeelEventName]?: Handler<N> };

const RATE_LIMIT: HandlerTable = {
  'rate-limit.allowed': ({ attributes: a }, sink) =>
    sink.count('rateLimitDecisions', [a.limiter, 'allowed', a.source], 1),
  'rate-limit.limited': ({ attributes: a }, sink) => {
    sink.count('rateLimitDecisions', [a.limiter, 'limited', a.source], 1);
    for (const policy of a.policies) sink.count('rateLimitViolations', [a.limiter, policy], 1);
  },
  'rate-limit.refunded': ({ attributes: a }, sink) =>
    sink.count('rateLimitRefunds', [a.limiter], 1),
  'rate-limit.store-failure': ({ attributes: a }, sink) =>
    sink.count('rateLimitStoreFailures', [a.limiter, a.operation, a.failurePolicy], 1),
};

const CACHE: HandlerTable = {
  'cache.hit': ({ attributes: a }, sink) => sink.count('cacheLookups', ['hit', a.layer, ''], 1),
  'cache.miss': ({ attributes: a }, sink) =>
    sink.count('cacheLookups', ['miss', '', a.collapsed ? 'collapsed' : ''], 1),
  'cache.stale': ({ attributes: a }, sink) =>
    sink.count('cacheLookups', ['stale', '', a.reason], 1),
  'cache.bypass': ({ attributes: a }, sink) =>
    sink.count('cacheLookups', ['bypass', '', a.reason], 1),
  'cache.store': ({ attributes: a }, sink) =>
    sink.count('cacheWrites', [a.stored ? 'stored' : 'refused', a.reason ?? ''], 1),
  'cache.error': ({ attributes: a }, sink) => sink.count('cacheErrors', [a.operation], 1),
  'cache.invalidate': (_event, sink) => sink.count('cacheInvalidations', [], 1),
  'cache.l1-resync': ({ attributes: a }, sink) => sink.count('cacheL1Resyncs', [a.reason], 1),
};

/** An idempotency request outcome with no reason. */
const request =
  (outcome: string): Handler<KeelEventName> =>
  (_event, sink) =>
    sink.count('idempotencyRequests', [outcome, ''], 1);

const IDEMPOTENCY: HandlerTable = {
  'idempotency.claimed': request('claimed'),
  'idempotency.taken-over': request('taken-over'),
  'idempotency.replayed': request('replayed'),
  'idempotency.waiting': request('waiting'),
  'idempotency.in-flight': request('in-flight'),
  'idempotency.mismatch': request('mismatch'),
  'idempotency.not-stored': request('not-stored'),
  'idempotency.rejected': ({ attributes: a }, sink) =>
    sink.count('idempotencyRequests', ['rejected', a.reason], 1),
  'idempotency.completed': ({ attributes: a }, sink) =>
    sink.count(
      'idempotencyClaimResults',
      ['completed', 'complete', a.stored ? 'stored' : 'status-only'],
      1,
    ),
  'idempotency.released': ({ attributes: a }, sink) =>
    sink.count('idempotencyClaimResults', ['released', 'release', a.reason], 1),
  'idempotency.fenced': ({ attributes: a }, sink) =>
    sink.count('idempotencyClaimResults', ['fenced', a.operation, a.reason], 1),
  'idempotency.aborted': (_event, sink) =>
    sink.count('idempotencyClaimResults', ['aborted', '', ''], 1),
  'idempotency.store-error': ({ attributes: a }, sink) =>
    sink.count('idempotencyClaimResults', ['store-error', a.operation, ''], 1),
};

const SESSION_AND_LOCK: HandlerTable = {
  'session.corrupt': ({ attributes: a }, sink) =>
    sink.count('sessionOutcomes', ['corrupt', a.reason], 1),
  'session.write-refused': ({ attributes: a }, sink) =>
    sink.count('sessionOutcomes', ['write-refused', a.reason], 1),
  'session.conflict': (_event, sink) => sink.count('sessionOutcomes', ['conflict', ''], 1),
  'session.user-logout': (_event, sink) => sink.count('sessionOutcomes', ['user-logout', ''], 1),
  'lock.acquired': (_event, sink) => sink.count('lockOutcomes', ['acquired', ''], 1),
  'lock.failed': ({ attributes: a }, sink) => sink.count('lockOutcomes', ['failed', a.reason], 1),
  'lock.extended': (_event, sink) => sink.count('lockOutcomes', ['extended', ''], 1),
  'lock.lost': ({ attributes: a }, sink) => sink.count('lockOutcomes', ['lost', a.reason], 1),
  'lock.released': ({ attributes: a }, sink) =>
    sink.count('lockOutcomes', ['released', a.held ? 'held' : 'not-held'], 1),
};

const STORE: HandlerTable = {
  'store.call': (event, sink, circuits) => {
    const { feature, operation, outcome } = event.attributes;
    circuits.seen(feature);
    const errorType = outcome === 'ok' ? '' : errorTypeOf(event.error);
    sink.storeCall([feature, operation, outcome, errorType], (event.durationMs ?? 0) / 1000);
  },
  'store.compensated': ({ attributes: a }, sink) =>
    sink.count('storeCompensations', [a.feature, a.operation, a.outcome], 1),
  'store.circuit': ({ attributes: a }, sink, circuits) => {
    circuits.report(a.feature, a.state);
    sink.count('storeCircuitTransitions', [a.feature, a.state], 1);
  },
  // The message is free text (it may name an address): counted, never labelled.
  'store.client-error': (_event, sink) => sink.count('storeClientErrors', [], 1),
  'keel.warning': ({ attributes: a }, sink) => sink.count('warnings', [a.warning], 1),
};

const HANDLERS: HandlerTable = {
  ...RATE_LIMIT,
  ...CACHE,
  ...IDEMPOTENCY,
  ...SESSION_AND_LOCK,
  ...STORE,
};

/** The names of the events that become measurements. */
export const MEASURED_EVENTS: readonly KeelEventName[] = Object.keys(HANDLERS) as KeelEventName[];

/** A listener recording into `sink`, and the breaker states it keeps for gauges. */
export interface Measurer {
  readonly listener: KeelEventListener;
  readonly circuits: CircuitStates;
}

/**
 * The listener recording into `sink`. `circuits` receives breaker states (pass your own when
 * a gauge must read them before the listener exists).
 */
export function createMeasurer(
  sink: MeasurementSink,
  circuits: CircuitStates = new CircuitStates(),
): Measurer {
  const listener: KeelEventListener = (event) => {
    // The table pairs each name with its own event type; TypeScript cannot follow the pairing
    // through an indexed access, so the one widening is here.
    const handler = HANDLERS[event.name] as Handler<KeelEvent['name']> | undefined;
    handler?.(event as KeelEventOf<KeelEvent['name']>, sink, circuits);
  };
  return { listener, circuits };
}
