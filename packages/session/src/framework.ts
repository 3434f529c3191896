/**
 * What the framework session stores (@keel/express's express-session store, @keel/koa's
 * koa-session store) both need from the repository side: one pair of converters between a
 * framework's session object and Keel's record of fields, and the repository options among a
 * store's own options.
 */
import { STORAGE_CHOICE_OPTIONS } from './create.js';
import type { SessionData } from './repository.js';

/**
 * A framework's session object as Keel's record of fields. express-session's `SessionData` is an
 * interface of JSON fields without an index signature, which TypeScript does not widen to a
 * record by itself.
 */
export function toSessionData(session: object): SessionData {
  return session as SessionData;
}

/**
 * Keel's record of fields as the framework's session type: what the framework stored is what it
 * reads back (the repository's `shape` option refuses a stored session the framework would
 * throw on), which the compiler cannot see — the one cast between the two, kept here.
 */
export function fromSessionData<T extends object>(data: SessionData): T {
  return data as T;
}

type StorageChoiceKey = (typeof STORAGE_CHOICE_OPTIONS)[number];
const STORAGE_CHOICE: ReadonlySet<string> = new Set(STORAGE_CHOICE_OPTIONS);

/**
 * A store's options without the storage choice (it picks the storage, not the repository's
 * behaviour) and without unset ones, so that the repository's own defaults apply.
 */
export function repositoryOptionsOf<T extends object>(
  options: T,
): Omit<Partial<T>, StorageChoiceKey> {
  const chosen: Partial<T> = {};
  for (const name of Object.keys(options) as (keyof T)[]) {
    const value = options[name];
    if (value !== undefined && !STORAGE_CHOICE.has(String(name))) chosen[name] = value;
  }
  return chosen;
}
