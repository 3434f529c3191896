// The limiter both adapters call (Express and Koa `rateLimit()` wrap it).

export type { FixedWindowState } from './algorithms/fixed-window.js';
export type { GcraState } from './algorithms/gcra.js';
// Algorithms: pure units `(state, now, policy, cost) → { decision, next }`.
export { ALGORITHM_NAMES, ALGORITHMS } from './algorithms/index.js';
export type { SlidingLogState } from './algorithms/sliding-log.js';
export type { SlidingWindowState } from './algorithms/sliding-window.js';
export type { TokenBucketState } from './algorithms/token-bucket.js';
export type {
  AlgorithmDecision,
  AlgorithmName,
  AlgorithmResult,
  AlgorithmUnit,
  PolicyLimits,
  RefundResult,
} from './algorithms/types.js';
export { RETRY_NEVER } from './algorithms/types.js';
// Errors and events.
export type { RateLimitErrorCode } from './errors.js';
export {
  codes,
  QUOTA_EXCEEDED_TYPE,
  RateLimitReplyError,
  RateLimitStoreFullError,
  RateLimitValueError,
} from './errors.js';
export type { DecisionSource } from './events.js';
// Headers: RateLimit / RateLimit-Policy per draft-ietf-httpapi-ratelimit-headers, and older forms.
export type { AdvertisedQuota, PolicyState, StandardHeaders } from './headers.js';
export { advertisedQuota, renderHeaders, STANDARD_HEADERS, sfString } from './headers.js';
export type { RefusalReason } from './decision.js';
export type {
  ConsumeOptions,
  KeyDecision,
  RateLimitDecision,
  RateLimiter,
  RateLimiterOptions,
} from './limiter.js';
export { createRateLimiter } from './limiter.js';
export type { AnsweredResponse } from './settle-on-answer.js';
export { settleOnAnswer } from './settle-on-answer.js';
export type { LimitFunction, PolicyOptions, PolicyScope } from './policy.js';
export { ScriptStatus } from './scripts/status.js';
// Stores: in memory (default, and the fallback) and Redis (one EVALSHA per check).
export type { MemoryRateLimitStore, MemoryStoreOptions } from './stores/memory.js';
export { COUNTER_BYTES, createMemoryStore } from './stores/memory.js';
export type { RedisStoreOptions } from './stores/redis.js';
export { createRedisStore } from './stores/redis.js';
export type {
  RateLimitStore,
  StoreAdjust,
  StoreBlock,
  StoreCheck,
  StoreCheckResult,
  StorePolicy,
  StoreRefund,
} from './types.js';
export { VERSION } from './version.js';
