// Errors: stable codes, problem types, and the check that survives dual packages.

export type { CoreErrorCode, KeelErrorOptions } from './errors.js';
export {
  codes,
  isKeelError,
  isStoreFailure,
  KeelError,
  KeelOptionError,
  PROBLEM_TYPE_BASE,
  StoreDataError,
  StoreMisconfiguredError,
  StoreTimeoutError,
  StoreUnavailableError,
  slugOf,
  UnexpectedScriptReplyError,
} from './errors.js';
export type {
  KeelEvent,
  KeelEventListener,
  KeelEventMap,
  KeelEventName,
  KeelEventOf,
  KeelEvents,
} from './events.js';
// Events: the one hook features emit through.
export { createEvents, toEvents } from './events.js';
export type { FailurePolicy } from './failure-policy.js';
// Failure policies shared by all features.
export { FAILURE_POLICIES } from './failure-policy.js';
export type { ProblemDetails } from './http/problem.js';
export {
  PROBLEM_CONTENT_TYPE,
  problem,
  problemFromError,
  problemResponse,
} from './http/problem.js';
export type { IncomingHeaders, KeelRequest } from './http/request.js';
// The HTTP model adapters fill and features decide on.
export { canonicalQuery, headerValue } from './http/request.js';
export type { CaptureResult, KeelResponse, ResponseHeaders } from './http/response.js';
export { normalizeHeaders, pickHeaders } from './http/response.js';
// Client identity: trusted proxies, X-Forwarded-For / Forwarded, IPv6 grouping.
export {
  type ClientIdentity,
  type ClientIdentityOptions,
  type ClientIdentityRequest,
  createClientIdentity,
  DEFAULT_IPV6_SUBNET,
  ipKey,
  type ProxyHeader,
  type TrustProxy,
  type TrustProxyPreset,
  UNKNOWN_CLIENT_KEY,
} from './identity/index.js';
export type { Clock, ManualClock } from './memory/clock.js';
// Memory-store building blocks.
export { createManualClock, systemClock } from './memory/clock.js';
export {
  concatExact,
  ENTRY_OVERHEAD_BYTES,
  exactCopy,
  exactUtf8,
  flatString,
  ownsItsMemory,
  retainable,
  stringBytes,
} from './memory/bytes.js';
export type { ExpiringMapOptions } from './memory/expiring-map.js';
export { ExpiringMap, SWEEP_PER_TICK } from './memory/expiring-map.js';
export type { CircuitBreakerOptions, CircuitState } from './redis/circuit-breaker.js';
export { CircuitBreaker } from './redis/circuit-breaker.js';
export type { CreateRedisClientOptions, RedisClient } from './redis/client.js';
// Redis plumbing: clients, scripts, keys, deadlines, circuit breaker.
export { attachErrorListener, createRedisClient, isCluster } from './redis/client.js';
export { withDeadline } from './redis/deadline.js';
export type { Keyspace } from './redis/keys.js';
export { createKeyspace, DEFAULT_PREFIX, hashKeyPart, validatePrefix } from './redis/keys.js';
export type {
  LuaScript,
  ReplicaWait,
  ScriptArg,
  ScriptRunner,
  StoreAttempt,
} from './redis/scripts.js';
export { createScriptRunner, GUARD_LUA } from './redis/scripts.js';
export { localNow, ServerClock, serverClockOf } from './redis/server-clock.js';
export type { StoreErrorContext, StoreErrorKind } from './redis/store-errors.js';
export { ABANDONED_REPLY, classifyStoreError, toStoreError } from './redis/store-errors.js';
export { isTransientState, waitUntilReady } from './redis/client-ready.js';
export type { EvictionImpact } from './redis/eviction-policy.js';
export { readEvictionPolicy, warnOnEvictionPolicy } from './redis/eviction-policy.js';
export type { StoreCaller, StoreCallerOptions } from './redis/store-call.js';
export { createStoreCaller } from './redis/store-call.js';
// The client seam: ioredis 5/6, iovalkey and node-redis behind one interface.
export type {
  AnyRedisClient,
  ClientStatus,
  KeelRedisClient,
  KeelSubscriber,
  ScriptCommand,
  ScriptDefinition,
} from './redis/seam.js';
export { isSupportedClient, keelClient, SUPPORTED_CLIENTS } from './redis/seam.js';
export type { OptionName, OptionNameMap } from './option-names.js';
export type { Validator } from './validate.js';
// Option validation and one-shot warnings.
export { optionNames } from './option-names.js';
export { assertKnownOptions, describeValue, optionError, validatorFor } from './validate.js';
export type { WarningSwitches, Warnings, WarningsOptions } from './warnings.js';
export { createWarnings } from './warnings.js';

// The setup every Redis-backed store shares: options, validation, keyspace, scripts, caller.
export {
  DEFAULT_REPLICA_TIMEOUT_MS,
  parseWaitForReplicas,
  REDIS_STORE_OPTIONS,
  setupRedisStore,
} from './redis/redis-store.js';
export type { SentinelFailoverOptions } from './redis/sentinel-failover.js';
export {
  failoverInProgress,
  failoverSettled,
  isWatchingFailovers,
  watchSentinelFailovers,
} from './redis/sentinel-failover.js';
export type { RedisStoreOptions, RedisStoreParts, RedisStoreSpec } from './redis/redis-store.js';
