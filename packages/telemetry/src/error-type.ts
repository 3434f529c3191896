import { isKeelError } from '@keel/core';

/** OpenTelemetry's fallback `error.type` when nothing better is known. */
export const OTHER_ERROR_TYPE = '_OTHER';

/**
 * A bounded `error.type` (OpenTelemetry semantic conventions) for a failed store call: the
 * Keel error code (`KEEL_ERR_STORE_TIMEOUT`), else the error's class name, else `_OTHER`.
 * Never the message, which may carry a key or an address.
 */
export function errorTypeOf(error: unknown): string {
  if (isKeelError(error)) return error.code;
  if (error instanceof Error && error.name) return error.name;
  return OTHER_ERROR_TYPE;
}
