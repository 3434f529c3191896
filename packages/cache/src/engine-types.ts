/**
 * The values the cache engine answers with — lookups, gate decisions, counters — and how a
 * store failure is named. Shared by the engine, `cache.wrap()` and the response cache.
 */
import { codes, isKeelError } from '@keel/core';
import type { Lock } from '@keel/lock';
import type { CachedEntry } from './entry.js';
import type { EntryRef, MissMarker } from './types.js';

/** The variant of a request under a primary's Vary names. */
export type VariantOf = (vary: string) => string;

/** For primaries that never vary (data keys). */
export const NO_VARIANT: VariantOf = () => '';

/** An entry found, with where it came from. */
export interface Found {
  kind: 'found';
  ref: EntryRef;
  entry: CachedEntry;
  layer: 'l1' | 'store';
}

export type Lookup =
  | Found
  /** `gen` is the record generation to hand back to the write. */
  | { kind: 'miss'; ref: EntryRef; gen: string; marker: MissMarker | undefined }
  /** The store failed: the caller bypasses the cache. */
  | { kind: 'error'; ref: EntryRef; error: unknown };

/** What the cross-process gate decided for a would-be filler. */
export type Gate =
  /** Fill: with the lock, or without one (no lock configured, lock store down, wait ran out). */
  | { kind: 'lead'; lock: Lock | undefined }
  /** Another process is filling (`skip` mode only). */
  | { kind: 'busy' }
  /** Another process filled it while this one waited. */
  | { kind: 'found'; found: Found }
  /** Another process found it uncacheable: run the origin yourself. */
  | { kind: 'uncacheable' }
  /** Another process's fill failed: serve stale or fail, do not retry the origin in turn. */
  | { kind: 'failed' };

/** What `gate` answers in `wait` mode: it never skips, so never `busy`. */
export type WaitGate = Exclude<Gate, { kind: 'busy' }>;

/** Counters behind `cache.stats()`. */
export interface Counters {
  hits: number;
  misses: number;
  stale: number;
  bypasses: number;
  errors: number;
  collapsed: number;
  l1Hits: number;
}

/** Why a failed store call made the cache stand aside: the bypass reason and `Cache-Status` detail. */
export type StoreFailureReason = 'store-unavailable' | 'store-misconfigured' | 'store-data';

/**
 * Core classifies every Redis reply once; the cache only names the class. Whatever it is —
 * an outage, `OOM`, `BUSY`, `NOPERM`, `WRONGTYPE`, a reply it cannot decode — the cache stands
 * aside and the origin answers: a cache must never turn a store problem into a 500.
 */
export function storeFailureReason(error: unknown): StoreFailureReason {
  if (isKeelError(error)) {
    if (error.code === codes.STORE_MISCONFIGURED) return 'store-misconfigured';
    if (error.code === codes.STORE_DATA || error.code === codes.UNEXPECTED_SCRIPT_REPLY) {
      return 'store-data';
    }
  }
  return 'store-unavailable';
}
