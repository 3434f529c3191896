/** This package's version: the instrumentation scope version of its meter and tracer. */
export const VERSION = '0.1.0';

/** The instrumentation scope name of the default meter and tracer. */
export const SCOPE_NAME = '@keel/otel';
