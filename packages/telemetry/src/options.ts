/**
 * Option checks both adapters share, so `buckets` and `events` mean and accept the same in
 * each. Each takes the adapter's validator, so messages name the adapter's own function.
 */
import { createEvents, type KeelEvents, type Validator } from '@keel/core';
import { STORE_CALL_BUCKETS_SECONDS } from './catalogue.js';

/** Store-call histogram buckets, seconds: increasing positive numbers, or the default. */
export function parseBuckets(v: Validator, buckets: unknown): readonly number[] {
  if (buckets === undefined) return STORE_CALL_BUCKETS_SECONDS;
  const allowed = 'a non-empty array of increasing positive numbers (seconds)';
  if (!Array.isArray(buckets) || buckets.length === 0) throw v.fail('buckets', buckets, allowed);
  let previous = 0;
  for (const bound of buckets) {
    if (typeof bound !== 'number' || !Number.isFinite(bound) || bound <= previous) {
      throw v.fail('buckets', buckets, allowed);
    }
    previous = bound;
  }
  return [...buckets];
}

/** The events to record: a `KeelEvents`, or a new one when none is given. */
export function parseEvents(v: Validator, events: unknown): KeelEvents {
  if (events === undefined) return createEvents();
  const candidate = events as Partial<KeelEvents> | null;
  if (typeof candidate?.on !== 'function' || typeof candidate.emit !== 'function') {
    throw v.fail('events', events, "Keel events (`createEvents()` from '@keel/core')");
  }
  return candidate as KeelEvents;
}
