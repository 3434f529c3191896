// Errors: one class per thing the caller can do about it, codes in a frozen registry.
export type { LockErrorCode, LockLostReason, QuorumTally } from './errors.js';
export {
  codes,
  LockBusyError,
  LockLostError,
  LockQuorumError,
  LockUnavailableError,
} from './errors.js';
// The lock: createLock() over Redis, a Redlock quorum or memory.
export { createLock } from './lock.js';
// Script statuses, shared by the Lua scripts and the memory store.
export type { AcquireReply, HoldStatus, ScriptStatusCode } from './status.js';
export { ScriptStatus } from './status.js';
// Native compare-and-delete (Redis 8.4 DELEX, Valkey 9 DELIFEQ) detection.
export type { CompareAndDelete } from './stores/compare-and-delete.js';
export { detectCompareAndDelete } from './stores/compare-and-delete.js';
// The store contract both stores implement, and Redlock runs on N of them.
export type { LateGrantHandler, LockStore } from './store.js';
// The in-memory store, to share between several createLock() calls of one process.
export type { MemoryLockStore, MemoryLockStoreOptions } from './stores/memory.js';
export { createMemoryLockStore } from './stores/memory.js';
// Types of the lock, its manager, options and stores.
export type {
  AcquireOptions,
  CreateLockOptions,
  Lock,
  LockManager,
  RetryOptions,
  WithLockOptions,
} from './types.js';
