// The engine the Express and Koa adapters call, and its options.
export type {
  Idempotency,
  IdempotencyClaim,
  IdempotencyDecision,
  IdempotencyOptions,
  IdempotencyResponseReason,
  StatusClass,
} from './engine.js';
export { createIdempotency, DEFAULT_REPLAY_HEADERS } from './engine.js';
// Idempotency for any function: queue consumers, webhooks, scheduled jobs.
export type {
  IdempotentRunner,
  IdempotentRunnerOptions,
  ResultCodec,
  RunOptions,
  WrapOptions,
} from './runner.js';
export { createIdempotentRunner, JSON_CODEC, makeIdempotent } from './runner.js';
// Errors: stable codes and problem types of every rejection.
export type { IdempotencyErrorCode, IdempotencySubject } from './errors.js';
export {
  codes,
  IdempotencyBodyTooDeepError,
  IdempotencyKeyInvalidError,
  IdempotencyKeyMissingError,
  IdempotencyKeyReusedError,
  IdempotencyRequestInFlightError,
  IdempotencyResponseNotStoredError,
  IdempotencyScopeError,
} from './errors.js';

// Events (augments @keel/core's KeelEventMap).
import './events.js';

// Fingerprints and the Idempotency-Key header, for custom setups and tests.
export type { BodyForm } from './fingerprint.js';
export {
  bodyForFingerprint,
  canonicalJson,
  DEFAULT_MAX_BODY_DEPTH,
  defaultFingerprint,
} from './fingerprint.js';
export type { KeyRules, ParsedKey } from './key-header.js';
export { parseIdempotencyKey } from './key-header.js';
// Script statuses (shared by both stores).
export { FenceCode, ScriptStatus } from './status.js';
// Stores.
export type { MemoryIdempotencyStoreOptions } from './stores/memory.js';
export { createMemoryIdempotencyStore } from './stores/memory.js';
export type { RedisIdempotencyStoreOptions } from './stores/redis.js';
export { createRedisIdempotencyStore } from './stores/redis.js';
export type {
  AcquireOutcome,
  AcquireRequest,
  Completion,
  FenceReason,
  IdempotencyStore,
  StoredResponse,
  TransitionOutcome,
} from './types.js';
export { VERSION } from './version.js';
