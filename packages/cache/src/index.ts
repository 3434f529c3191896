// The cache object: data-level cache-aside, invalidation, counters (createCache).
export type { Cache, CacheOptions, CacheStats, SetOptions, WrapOptions } from './cache.js';
export { createCache, isCache } from './cache.js';
// Errors: stable codes and problem types.
export type { CacheErrorCode } from './errors.js';
export {
  CacheKeyError,
  CacheTagError,
  CacheValueError,
  codes,
  SharedFillFailedError,
} from './errors.js';

// Events (augments @keel/core's KeelEventMap).
export type { CacheBypassReason } from './events.js';
import './events.js';

// HTTP response caching, framework-neutral: what the Express and Koa adapters call.
export type { DispatchInit, RequestListener } from './http/dispatch.js';
export { dispatchRequest, REVALIDATION } from './http/dispatch.js';
export { DEFAULT_STORED_HEADERS, strongEtag } from './http/headers.js';
export type { UncacheableReason } from './http/policy.js';
export type {
  CacheDecision,
  CacheFill,
  CredentialsMode,
  DecideEnv,
  ResponseCache,
  ResponseCacheOptions,
} from './http/response-cache.js';
export {
  createResponseCache,
  DEFAULT_CACHEABLE_STATUSES,
  pathTag,
} from './http/response-cache.js';
// The optional L1's options.
export type { L1Options } from './l1.js';
// Script statuses (shared by both stores) and store options.
export { ScriptStatus } from './status.js';
export type { MemoryCacheStoreOptions } from './stores/memory.js';
export { VERSION } from './version.js';
