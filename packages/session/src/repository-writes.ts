/**
 * The repository's two lost-update-free write paths for a session a request loaded (see
 * repository.ts): the field merge in Lua for connect-redis JSON, and the compare-and-set on the
 * loaded payload's SHA-1, re-applied to the newer payload on conflict, for payloads Lua cannot
 * read. One object per repository, built from its config.
 */
import { createHash } from 'node:crypto';
import { hashKeyPart } from '@keel/core';
import { SessionConflictError } from './errors.js';
import { applyDiff, diffFields, type FieldDiff, type Fields, fieldsToJson } from './fields.js';
import type { RepositoryConfig } from './repository-config.js';
import type { SessionData, SessionSnapshot } from './repository-types.js';
import { shapeProblem } from './shape.js';
import type { WriteLifetime, WriteResult } from './types.js';

/** A write's outcome and, when known, the exact payload it stored. */
export interface Written {
  result: WriteResult;
  payload: Buffer | string | undefined;
}

/** SHA-1 hex of a payload: the compare-and-set base. */
export function sha1(payload: Buffer | string): string {
  return createHash('sha1').update(payload).digest('hex');
}

export class SessionWrites {
  readonly #config: RepositoryConfig;

  constructor(config: RepositoryConfig) {
    this.#config = config;
  }

  /** The payload of a whole session: its fields' JSON when mergeable, else the codec's bytes. */
  encode(id: string, data: SessionData, fields: Fields): Buffer | string {
    const { codec } = this.#config;
    return codec.mergeable ? fieldsToJson(fields) : codec.encode(id, data);
  }

  /** Write the fields this request changed or removed into the stored object, in Lua. */
  async merge(
    id: string,
    data: SessionData,
    fields: Fields,
    snapshot: SessionSnapshot,
    rules: WriteLifetime,
  ): Promise<WriteResult> {
    const { storage } = this.#config;
    const diff = diffFields(snapshot.fields, fields);
    const result = await storage.merge(id, {
      ...rules,
      changed: diff.changed.map(([name, text]) => [JSON.stringify(name), text] as const),
      removed: diff.removed.map((name) => JSON.stringify(name)),
    });
    if (result.status !== 'missing' && result.status !== 'corrupt') return result;
    // Gone meanwhile (idle expiry, eviction) or unreadable: write it whole, as connect-redis
    // would, keeping its creation time so the absolute lifetime does not restart.
    return storage.save(id, {
      ...rules,
      touch: false,
      payload: this.encode(id, data, fields),
      createdAtMs: snapshot.createdAtMs,
    });
  }

  /** Write the whole payload if the stored one is still what was loaded; else re-apply the diff. */
  async compareAndSet(
    id: string,
    data: SessionData,
    fields: Fields,
    snapshot: SessionSnapshot,
    rules: WriteLifetime,
  ): Promise<Written> {
    const { storage, codec, shape, events, maxConflictRetries } = this.#config;
    const diff: FieldDiff = diffFields(snapshot.fields, fields);
    let payload = this.encode(id, data, fields);
    let base = snapshot.digest;
    for (let attempt = 1; attempt <= maxConflictRetries; attempt++) {
      const result = await storage.save(id, {
        ...rules,
        payload,
        baseDigest: base,
        createdAtMs: snapshot.createdAtMs,
      });
      if (result.status !== 'conflict') return { result, payload };
      events.emit('session.conflict', { idHash: hashKeyPart(id), attempt });
      const decoded = codec.decode(id, result.current);
      const current =
        decoded.ok && shapeProblem(shape, decoded.value) === undefined ? decoded : undefined;
      // An undecodable or misshapen current payload is no session: this request's replaces it.
      const next = current ? applyDiff(current.value, diff) : data;
      payload = codec.encode(id, next);
      base = current ? sha1(result.current) : undefined;
    }
    throw new SessionConflictError(maxConflictRetries);
  }
}
