/**
 * The Redis store: a read is one EVALSHA (record + variant + miss marker, one hash tag), a
 * write one EVALSHA, a delete one EVALSHA. Tag versions live under each tag's own hash tag, so
 * they are read with one GET per tag, sent together (on a Cluster they go to their own slots
 * in parallel). Everything runs under core's store caller: deadline, circuit breaker, a wait
 * for a client that is still connecting, error classification, latency events.
 *
 * Calls Keel gave up on (Redis stalled, a late reconnect, a re-sent command):
 * - Fills (`write`, `ensure-tag`, `set-marker`) run behind core's call guard: a script that
 *   starts after its caller's deadline does nothing. One that started in time but answered
 *   late has written an entry the caller counted as not stored; that entry is as valid as a
 *   timely one, so nothing is undone. It can never resurrect data an invalidation removed:
 *   the write carries the generation its fill read before the origin call and refuses to land
 *   on a newer one (a delete's tombstone), and the entry carries the tag versions read before
 *   the origin call, which any later tag invalidation has deleted — both are checked by Redis
 *   when the script runs, whenever that is.
 * - Invalidations (`remove`, `removeTags`) are deliberately not guarded: one that lands late
 *   only drops entries, which for a cache is always safe, and the caller was told it failed
 *   (so it retries, or at least the late delete still happens).
 */
import { randomBytes } from 'node:crypto';
import {
  type Clock,
  createKeyspace,
  hashKeyPart,
  type KeelRedisClient,
  type ScriptRunner,
  type StoreCaller,
  StoreDataError,
  UnexpectedScriptReplyError,
} from '@keel/core';
import {
  ensureTag,
  readEntry,
  removePrimary,
  setMarker,
  writeEntry,
} from '../scripts/generated.js';
import { decodeOk, decodeRead, decodeWrite } from '../status.js';
import type { CacheStore, EntryRef, StoreLimits } from '../types.js';

export interface RedisStoreInit {
  client: KeelRedisClient;
  /** The global prefix (`keel:`); keys are `<prefix>cache:{…}` and `<prefix>cache-tag:{…}`. */
  prefix: string;
  /** The `keel:cache` script runner and the guarded store caller, from core's `setupRedisStore`. */
  runner: ScriptRunner;
  call: StoreCaller;
  limits: StoreLimits;
  /** Tests only: the scripts' "now" instead of Redis TIME. */
  clock?: Clock | undefined;
}

/** A fresh 96-bit token for generations and tag versions. */
export function freshToken(): string {
  return randomBytes(12).toString('base64url');
}

/** Keys of one primary (by its hashed id): all under the primary's hash tag. */
export function primaryKeys(prefix: string, id: string) {
  const base = `${prefix}{${id}}`;
  return {
    record: `${base}:r`,
    entry: (variant: string) => `${base}:e:${variant === '' ? '-' : hashKeyPart(variant)}`,
    marker: (variant: string) => `${base}:x:${variant === '' ? '-' : hashKeyPart(variant)}`,
  };
}

/**
 * Decode a reply inside the store call, so a value the cache did not write (a key of ours
 * holding someone else's data) ends as core's `StoreDataError`, naming the key family, like a
 * `WRONGTYPE` reply does — and the cache bypasses it like any store failure.
 */
function decoded<T>(operation: string, family: string, decode: () => T): T {
  try {
    return decode();
  } catch (error) {
    if (!(error instanceof UnexpectedScriptReplyError)) throw error;
    throw new StoreDataError(operation, family, error.message, error);
  }
}

export function createRedisCacheStore(init: RedisStoreInit): CacheStore {
  const { client, runner, call, limits, clock } = init;
  const entryPrefix = createKeyspace(init.prefix, 'cache').prefix;
  const tags = createKeyspace(init.prefix, 'cache-tag');
  const now = () => (clock ? String(clock()) : '');
  const refKeys = (ref: EntryRef) => {
    const keys = primaryKeys(entryPrefix, ref.id);
    return [keys.record, keys.entry(ref.variant), keys.marker(ref.variant)];
  };

  return {
    kind: 'redis',
    read(ref) {
      return call('read', async (attempt) => {
        const reply = await runner.runBuffer(readEntry, refKeys(ref), [ref.vary, now()], attempt);
        return decoded('read', entryPrefix, () => decodeRead(reply));
      });
    },
    write(ref, request) {
      const body = Buffer.isBuffer(request.body)
        ? request.body
        : Buffer.from(request.body.buffer, request.body.byteOffset, request.body.byteLength);
      const args = [
        ref.vary,
        request.observedGen,
        freshToken(),
        Math.max(1, Math.min(request.lifetimeMs, limits.maxTtlMs)),
        request.meta,
        body,
        now(),
      ];
      return call('write', async (attempt) => {
        const reply = await runner.run(writeEntry, refKeys(ref), args, attempt);
        return decoded('write', entryPrefix, () => decodeWrite(reply));
      });
    },
    async mark(ref, marker, ttlMs) {
      const key = primaryKeys(entryPrefix, ref.id).marker(ref.variant);
      await call('mark', async (attempt) => {
        const reply = await runner.run(setMarker, [key], [marker, Math.max(1, ttlMs)], attempt);
        return decoded('mark', entryPrefix, () => decodeOk('set-marker', reply));
      });
    },
    async remove(id) {
      const keys = primaryKeys(entryPrefix, id);
      // Unguarded on purpose (see the header): a late delete only drops more.
      await call('remove', async () => {
        const reply = await runner.run(
          removePrimary,
          [keys.record],
          [freshToken(), limits.tombstoneMs],
        );
        return decoded('remove', entryPrefix, () => decodeOk('remove-primary', reply));
      });
    },
    async tagVersions(names, ensure) {
      if (names.length === 0) return [];
      return call(ensure ? 'ensure-tags' : 'tag-versions', (attempt) =>
        Promise.all(
          names.map(async (tag) => {
            const key = tags.key(tag, 'v');
            if (!ensure) return client.call('GET', key) as Promise<string | null>;
            const reply = await runner.run(
              ensureTag,
              [key],
              [freshToken(), limits.maxTtlMs],
              attempt,
            );
            return decoded('ensure-tags', tags.prefix, () => decodeOk('ensure-tag', reply));
          }),
        ),
      );
    },
    async removeTags(names) {
      if (names.length === 0) return;
      // A plain UNLINK, unguarded on purpose: a tag version deleted late only invalidates more.
      await call('remove-tags', () =>
        Promise.all(names.map((tag) => client.call('UNLINK', tags.key(tag, 'v')))),
      );
    },
  };
}
