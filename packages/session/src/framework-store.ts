/**
 * What the framework session stores (@keel/express's express-session store, @keel/koa's
 * koa-session store) take alike: the storage choice and the repository options both expose
 * under the same names, their validation, and the repository built from them. Each store adds
 * only its framework's lifetimes (connect-redis's seconds, koa-session's `maxAge`).
 */
import { optionNames, type Validator, validatorFor } from '@keel/core';
import {
  createSessionRepository,
  type SessionStorageChoice,
  STORAGE_CHOICE_OPTIONS,
} from './create.js';
import { fromSessionData, repositoryOptionsOf } from './framework.js';
import type { SessionRepository } from './repository.js';
import type { SessionData, SessionRepositoryOptions } from './repository-types.js';
import type { SessionShape } from './shape.js';

/**
 * The options of a framework store besides its lifetimes, named and meant as the repository's;
 * `Session` is the framework's session type.
 */
export interface FrameworkStoreOptions<Session extends object>
  extends SessionStorageChoice,
    Pick<
      SessionRepositoryOptions,
      | 'tombstoneTtlMs'
      | 'conflict'
      | 'index'
      | 'serializer'
      | 'compression'
      | 'encryption'
      | 'scanCount'
      | 'events'
    > {
  /**
   * The user a session belongs to, for `listForUser()` and `destroyAllForUser()`. (A method
   * signature, so a function of the framework's session or of a plain record both fit.)
   */
  userId?(session: Session): string | undefined;
}

/**
 * The option names of {@link FrameworkStoreOptions}: the storage choice's, then the rest checked
 * against the type, so a store that adds its own names lists every option exactly once.
 */
export const FRAMEWORK_STORE_OPTIONS: readonly string[] = [
  ...STORAGE_CHOICE_OPTIONS,
  ...optionNames<Omit<FrameworkStoreOptions<object>, keyof SessionStorageChoice>>({
    tombstoneTtlMs: true,
    conflict: true,
    userId: true,
    index: true,
    serializer: true,
    compression: true,
    encryption: true,
    scanCount: true,
    events: true,
  }),
];

/**
 * The validator of a framework store's options (errors name `component`), once it refused
 * every option that is neither shared nor among the store's `own`.
 */
export function frameworkStoreValidator(
  component: string,
  options: object,
  own: readonly string[],
): Validator {
  const v = validatorFor(component);
  v.knownOptions(options, [...FRAMEWORK_STORE_OPTIONS, ...own]);
  return v;
}

/** What a store says of itself when it builds its repository. */
export interface FrameworkStoreSpec {
  /** Names the store in errors, as its validator does. */
  component: string;
  /** The framework whose session a stored one must be, or it is no session (see `shape.ts`). */
  shape: SessionShape;
  /** Absolute lifetime from creation, ms, in the store's own units already converted. */
  absoluteTtlMs: number | undefined;
  /** Touches skipped while the TTL is within this of full, ms. */
  touchAfterMs: number | undefined;
}

/** The repository behind a framework store: its storage choice and its shared options. */
export function createFrameworkRepository<Session extends object>(
  options: FrameworkStoreOptions<Session>,
  spec: FrameworkStoreSpec,
): SessionRepository {
  const userId = options.userId?.bind(options);
  const repositoryOptions = {
    conflict: options.conflict,
    absoluteTtlMs: spec.absoluteTtlMs,
    touchAfterMs: spec.touchAfterMs,
    tombstoneTtlMs: options.tombstoneTtlMs,
    userId: userId && ((data: SessionData) => userId(fromSessionData<Session>(data))),
    index: options.index,
    serializer: options.serializer,
    compression: options.compression,
    encryption: options.encryption,
    scanCount: options.scanCount,
    events: options.events,
  };
  return createSessionRepository(
    options,
    { ...repositoryOptionsOf(repositoryOptions), shape: spec.shape },
    spec.component,
  );
}
