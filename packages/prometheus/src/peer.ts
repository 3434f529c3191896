/**
 * prom-client is an optional peer: loaded when metrics are created, not when this module is
 * imported, so a missing install is a coded error that says what to run instead of Node's
 * `ERR_MODULE_NOT_FOUND` at import time. `require` resolves the same copy the application's
 * `import 'prom-client'` gets (prom-client is CommonJS).
 */
import { createRequire } from 'node:module';
import { PrometheusPeerMissingError } from './errors.js';

/** The part of prom-client Keel uses. */
export type PromClient = Pick<typeof import('prom-client'), 'Counter' | 'Gauge' | 'Histogram'>;

let loaded: PromClient | undefined;

export function loadPromClient(): PromClient {
  if (loaded) return loaded;
  try {
    loaded = createRequire(import.meta.url)('prom-client') as PromClient;
    return loaded;
  } catch (error) {
    throw new PrometheusPeerMissingError(error);
  }
}
