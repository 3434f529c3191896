// The metric catalogue: names, labels and buckets shared by every adapter.
export type {
  CircuitStateName,
  CounterName,
  LabelName,
  LabelSpec,
  MetricKind,
  MetricName,
  MetricSpec,
} from './catalogue.js';
export { CIRCUIT_STATES, LABELS, METRICS, STORE_CALL_BUCKETS_SECONDS } from './catalogue.js';

// From events to measurements: the listener an adapter subscribes, over its own sink.
export type { MeasurementSink, Measurer } from './measure.js';
export { createMeasurer, MEASURED_EVENTS } from './measure.js';
export { CircuitStates } from './circuits.js';
export { errorTypeOf, OTHER_ERROR_TYPE } from './error-type.js';

// Bounded series: the guard against a label that turns out unbounded.
export { DEFAULT_MAX_SERIES_PER_METRIC, OVERFLOW_LABEL_VALUE, SeriesCache } from './series.js';

// Option checks shared by the adapters.
export { parseBuckets, parseEvents } from './options.js';
export { Subscriptions } from './subscriptions.js';
