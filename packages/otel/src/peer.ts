/**
 * @opentelemetry/api is an optional peer: loaded when first needed (no `meter` given, or spans
 * on), not when this module is imported, so a missing install is a coded error that says what
 * to run. The API keeps its providers in one process-wide global, so the copy `require` finds
 * sees the same MeterProvider and context manager as the application's `import`.
 */
import { createRequire } from 'node:module';
import { OtelPeerMissingError } from './errors.js';

/** The part of @opentelemetry/api Keel uses. */
export type OtelApi = Pick<
  typeof import('@opentelemetry/api'),
  'context' | 'metrics' | 'trace' | 'SpanKind' | 'SpanStatusCode'
>;

let loaded: OtelApi | undefined;

export function loadOtelApi(): OtelApi {
  if (loaded) return loaded;
  try {
    loaded = createRequire(import.meta.url)('@opentelemetry/api') as OtelApi;
    return loaded;
  } catch (error) {
    throw new OtelPeerMissingError(error);
  }
}
