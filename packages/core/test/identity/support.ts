/** Helpers for the client identity tests: a minimal request and a quiet identity. */
import {
  type ClientIdentityOptions,
  type ClientIdentityRequest,
  createClientIdentity,
} from '../../src/identity/index.js';

export function request(
  remoteAddress: string | undefined,
  headers: Record<string, string | string[]> = {},
): ClientIdentityRequest {
  return { remoteAddress, headers };
}

/** An identity with warnings off (the warnings suite turns them on explicitly). */
export function quietIdentity(options: ClientIdentityOptions = {}) {
  return createClientIdentity({ warnings: false, ...options });
}

/** `address()` for a peer and an X-Forwarded-For value in one call. */
export function clientBehind(
  options: ClientIdentityOptions,
  peer: string | undefined,
  xForwardedFor?: string | string[],
): string | undefined {
  const headers: Record<string, string | string[]> =
    xForwardedFor === undefined ? {} : { 'x-forwarded-for': xForwardedFor };
  return quietIdentity(options).address(request(peer, headers));
}
