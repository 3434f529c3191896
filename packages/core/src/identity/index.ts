/**
 * Client identity: who the client is behind trusted proxies, and the key features use for it.
 * The public surface of this folder; parsers and the compiled trust list stay internal.
 */
export {
  type ClientIdentity,
  type ClientIdentityOptions,
  type ClientIdentityRequest,
  createClientIdentity,
  type ProxyHeader,
} from './client-identity.js';
export { DEFAULT_IPV6_SUBNET, ipKey, UNKNOWN_CLIENT_KEY } from './ip-key.js';
export type { TrustProxy, TrustProxyPreset } from './trusted-proxies.js';
