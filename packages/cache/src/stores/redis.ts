/**
 * The Redis store: a read is one EVALSHA (record + variant + miss marker, one hash tag), a
 * write one EVALSHA, a delete one EVALSHA. Tag versions live under each tag's own hash tag, so
 * they are read with one GET per tag, sent together (on a Cluster they go to their own slots
 * in parallel). Everything runs under core's store caller: deadline, circuit breaker, fail fast
 * while reconnecting, latency events.
 */
import { randomBytes } from 'node:crypto';
import {
  type Clock,
  createKeyspace,
  createScriptRunner,
  hashKeyPart,
  type RedisClient,
  type StoreCaller,
} from '@keel/core';
import { ensureTag, readEntry, removePrimary, writeEntry } from '../scripts/generated.js';
import { decodeOk, decodeRead, decodeWrite } from '../status.js';
import type { CacheStore, EntryRef, StoreLimits } from '../types.js';
import { VERSION } from '../version.js';

export interface RedisStoreInit {
  client: RedisClient;
  prefix: string;
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

export function createRedisCacheStore(init: RedisStoreInit): CacheStore {
  const { client, call, limits, clock } = init;
  const entryPrefix = createKeyspace(init.prefix, 'cache').prefix;
  const tags = createKeyspace(init.prefix, 'cache-tag');
  const runner = createScriptRunner(client, 'keel:cache', VERSION);
  const now = () => (clock ? String(clock()) : '');
  const refKeys = (ref: EntryRef) => {
    const keys = primaryKeys(entryPrefix, ref.id);
    return [keys.record, keys.entry(ref.variant), keys.marker(ref.variant)];
  };

  return {
    kind: 'redis',
    async read(ref) {
      const reply = await call('read', () =>
        runner.runBuffer(readEntry, refKeys(ref), [ref.vary, now()]),
      );
      return decodeRead(reply);
    },
    async write(ref, request) {
      const body = Buffer.isBuffer(request.body)
        ? request.body
        : Buffer.from(request.body.buffer, request.body.byteOffset, request.body.byteLength);
      const reply = await call('write', () =>
        runner.run(writeEntry, refKeys(ref), [
          ref.vary,
          request.observedGen,
          freshToken(),
          Math.max(1, Math.min(request.lifetimeMs, limits.maxTtlMs)),
          request.meta,
          body,
          now(),
        ]),
      );
      return decodeWrite(reply);
    },
    async mark(ref, marker, ttlMs) {
      const key = primaryKeys(entryPrefix, ref.id).marker(ref.variant);
      await call('mark', () => client.set(key, marker, 'PX', Math.max(1, ttlMs)));
    },
    async remove(id) {
      const keys = primaryKeys(entryPrefix, id);
      const reply = await call('remove', () =>
        runner.run(removePrimary, [keys.record], [freshToken(), limits.tombstoneMs]),
      );
      decodeOk('remove-primary', reply);
    },
    async tagVersions(names, ensure) {
      if (names.length === 0) return [];
      return call(ensure ? 'ensure-tags' : 'tag-versions', () =>
        Promise.all(
          names.map(async (tag) => {
            const key = tags.key(tag, 'v');
            if (!ensure) return client.get(key);
            const reply = await runner.run(ensureTag, [key], [freshToken(), limits.maxTtlMs]);
            return decodeOk('ensure-tag', reply);
          }),
        ),
      );
    },
    async removeTags(names) {
      if (names.length === 0) return;
      await call('remove-tags', () =>
        Promise.all(names.map((tag) => client.unlink(tags.key(tag, 'v')))),
      );
    },
  };
}
