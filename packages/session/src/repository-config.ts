/**
 * The session repository's options, parsed once into one named value: every option validated
 * (with a message that says what to change) and every default applied before the repository
 * serves a request, so what a request depends on can be read in one place.
 */
import {
  type Clock,
  type KeelEvents,
  optionNames,
  systemClock,
  toEvents,
  validatorFor,
} from '@keel/core';
import { createCodec, type SessionCodec } from './codec.js';
import {
  type ConflictPolicy,
  type SessionData,
  type SessionRepositoryOptions,
  SLIDE_SLACK_MS,
} from './repository-types.js';
import { SESSION_SHAPES, type SessionShape } from './shape.js';
import { createMemorySessionStorage } from './stores/memory.js';
import type { SessionStorage } from './types.js';

/** The user a session belongs to (the `userId` option). */
type UserIdOf = (session: SessionData) => string | undefined;

/** {@link SessionRepositoryOptions}, validated and with every default applied. */
export interface RepositoryConfig {
  storage: SessionStorage;
  conflict: ConflictPolicy;
  /** 0 = no absolute lifetime. */
  absoluteTtlMs: number;
  touchAfterMs: number;
  tombstoneTtlMs: number;
  index: boolean;
  scanCount: number;
  /** Compare-and-set attempts before a save fails with SessionConflictError. */
  maxConflictRetries: number;
  userId: UserIdOf | undefined;
  clock: Clock;
  /** How far a sliding load lets the TTL fall behind, ms: `max(touchAfterMs, SLIDE_SLACK_MS)`. */
  slideSlackMs: number;
  events: KeelEvents;
  shape: SessionShape;
  codec: SessionCodec;
}

const KNOWN = optionNames<SessionRepositoryOptions>({
  storage: true,
  conflict: true,
  absoluteTtlMs: true,
  touchAfterMs: true,
  tombstoneTtlMs: true,
  userId: true,
  index: true,
  serializer: true,
  compression: true,
  encryption: true,
  scanCount: true,
  maxConflictRetries: true,
  events: true,
  shape: true,
  clock: true,
});

/** Validate `options` (errors name `component`) and apply the defaults. */
export function parseRepositoryOptions(
  options: SessionRepositoryOptions,
  component: string,
): RepositoryConfig {
  const v = validatorFor(component);
  v.knownOptions(options, KNOWN);
  const storage = options.storage ?? createMemorySessionStorage();
  const conflict = v.oneOf('conflict', options.conflict, ['merge', 'last-write-wins'], 'merge');
  const absoluteTtlMs = v.nonNegativeInteger('absoluteTtlMs', options.absoluteTtlMs, 0, 'ms');
  const touchAfterMs = v.nonNegativeInteger('touchAfterMs', options.touchAfterMs, 0, 'ms');
  const tombstoneTtlMs = v.nonNegativeInteger(
    'tombstoneTtlMs',
    options.tombstoneTtlMs,
    60_000,
    'ms',
  );
  const index = v.boolean('index', options.index, false);
  const scanCount = v.positiveInteger('scanCount', options.scanCount, 100);
  const maxConflictRetries = v.positiveInteger('maxConflictRetries', options.maxConflictRetries, 5);
  const userId = v.optionalFunc<UserIdOf>('userId', options.userId);
  const clock = v.func<Clock>('clock', options.clock, systemClock);
  const events = toEvents(options.events);
  const shape = v.oneOf('shape', options.shape, SESSION_SHAPES, 'object');
  const codec = createCodec(
    {
      serializer: options.serializer,
      compression: options.compression,
      encryption: options.encryption,
    },
    component,
  );
  return {
    storage,
    conflict,
    absoluteTtlMs,
    touchAfterMs,
    tombstoneTtlMs,
    index,
    scanCount,
    maxConflictRetries,
    userId,
    clock,
    slideSlackMs: Math.max(touchAfterMs, SLIDE_SLACK_MS),
    events,
    shape,
    codec,
  };
}
