// The repository: what express-session and koa-session stores are built on.

export type { SessionStorageChoice } from './create.js';
export { createSessionRepository, STORAGE_CHOICE_OPTIONS } from './create.js';
// What the express-session and koa-session stores share: converters, options, the repository
// built from them, and what each request loaded.
export { fromSessionData, repositoryOptionsOf, toSessionData } from './framework.js';
export type { FrameworkStoreOptions, FrameworkStoreSpec } from './framework-store.js';
export {
  createFrameworkRepository,
  FRAMEWORK_STORE_OPTIONS,
  frameworkStoreValidator,
} from './framework-store.js';
export { RequestSnapshots } from './request-snapshots.js';
export type {
  ConflictPolicy,
  LoadedSession,
  LoadOptions,
  SaveOptions,
  SaveResult,
  SaveStatus,
  SessionData,
  SessionRepositoryOptions,
  SessionSnapshot,
  UserSession,
} from './repository.js';
export { SessionRepository, SLIDE_SLACK_MS } from './repository.js';
export type { SessionShape } from './shape.js';
export { SESSION_SHAPES, shapeProblem } from './shape.js';

// Storages: in-process memory and Redis (standalone, Sentinel, Cluster).

export type { MemorySessionStorageOptions } from './stores/memory.js';
export { createMemorySessionStorage } from './stores/memory.js';
export type { RedisSessionStorageOptions } from './stores/redis.js';
export { createRedisSessionStorage } from './stores/redis.js';
export type {
  DestroyResult,
  MergeRequest,
  ReadResult,
  SaveRequest,
  SessionStorage,
  SlideRequest,
  StoredSession,
  TouchResult,
  WriteLifetime,
  WriteResult,
} from './types.js';

// Codecs: connect-redis JSON, compression, AES-256-GCM with key rotation.

export type {
  CodecOptions,
  CompressionOptions,
  DecodeFailure,
  DecodeResult,
  EncryptionOptions,
  SessionCodec,
  SessionSerializer,
} from './codec.js';
export { createCodec } from './codec.js';

// Keys and ids.

export type { SessionKeys } from './keys.js';
export {
  assertSessionId,
  DEFAULT_SESSION_PREFIX,
  isValidSessionId,
  sessionKeys,
  siblingPrefixOf,
  validateSessionPrefix,
} from './keys.js';

// Errors, script statuses, events.

export type { SessionErrorCode } from './errors.js';
export {
  codes,
  SessionClearRefusedError,
  SessionConflictError,
  SessionIdError,
  SessionNotMountedError,
  SessionPeerMissingError,
} from './errors.js';
export { ScriptStatus } from './status.js';
export { VERSION } from './version.js';

import './events.js';
